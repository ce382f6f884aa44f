"""The database taken away for real: a server process on a throwaway PostgreSQL
database reached through a TCP proxy the test cuts and restores.

Uses the PostgreSQL service at $CI_POSTGRES_URL in both CI passes, because the
fault (a database that stops answering) is a network one.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import ROOT
from tests.tcpproxy import TcpProxy

ADMIN_URL = os.environ.get("CI_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
SETUP = """
from django.contrib.auth import get_user_model
from chat import services
owner = get_user_model().objects.create_user("owner")
services.room_create(slug="outage", owner=owner)
"""


def manage(database_url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def proxied_database() -> Iterator[tuple[str, TcpProxy]]:
    """A migrated throwaway database, reached through a proxy; dropped after."""
    name = f"rttest_outage_{uuid.uuid4().hex[:8]}"
    admin = urllib.parse.urlparse(ADMIN_URL)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    proxy = TcpProxy((admin.hostname or "127.0.0.1", admin.port or 5432)).start()
    netloc = f"{admin.username or 'postgres'}@127.0.0.1:{proxy.port}"
    url = urllib.parse.urlunparse(admin._replace(netloc=netloc, path=f"/{name}"))
    try:
        manage(url, "migrate", "--noinput")
        manage(url, "shell", "-c", SETUP)
        yield url, proxy
    finally:
        proxy.stop()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def healthz(server) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    try:
        with urllib.request.urlopen(server.http + "/healthz", timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def send(client, text: str) -> dict:  # type: ignore[no-untyped-def]
    return client.request(
        {
            "type": "publish",
            "topic": "chat.outage",
            "event": "message",
            "data": {"text": text},
        },
        timeout=15,
    )


def test_database_outage_refuses_chat_sends_and_broadcasts_nothing_unstored(
    make_server, proxied_database
):
    url, proxy = proxied_database
    server = make_server(DATABASE_URL=url, CHAT_ALLOW_GUESTS="1")
    with server.client() as sender, server.client() as watcher:
        sender.subscribe("chat.outage")
        watcher.subscribe("chat.outage")
        assert send(sender, "before")["type"] == "ack"
        assert watcher.events(1)[0]["data"]["text"] == "before"

        proxy.stop()
        reply = send(sender, "during")
        assert (reply["type"], reply["code"]) == ("error", "unavailable")
        status, body = healthz(server)
        assert status == 503
        assert body["checks"]["database"].startswith("error")
        assert body["checks"]["redis"] == "ok"
        assert watcher.no_event(1.0)

        proxy.start()
        assert healthz(server)[0] == 200
        assert send(sender, "after")["type"] == "ack"
        (event,) = watcher.events(1)
        assert event["data"]["text"] == "after"
    # History holds exactly what was stored: nothing from the outage.
    with server.client() as late:
        late.subscribe("chat.outage", history=10)
        texts = [e["data"]["text"] for e in late.events(2)]
        assert texts == ["before", "after"]
        assert late.no_event(0.5)
