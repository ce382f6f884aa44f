"""Every way backend code publishes reaches a subscribed client."""

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from realtime import push
from tests.conftest import API_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def topic() -> str:
    return f"public.t{uuid.uuid4().hex[:12]}"


def post(url: str, body: object, token: str | None = API_TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_sync_publish_reaches_subscriber(server):
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        published = push.publish(name, "sync", {"n": 1})
        (event,) = client.events(1)
    assert event["data"] == {"n": 1}
    assert event["offset"] == published.offset == 1
    assert event["epoch"] == published.epoch


def test_async_publish_reaches_subscriber(server):
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        asyncio.run(push.apublish(name, "async", {"n": 2}))
        asyncio.run(push.apublish(name, "async", {"n": 3}))  # a second loop
        events = client.events(2)
    assert [e["data"]["n"] for e in events] == [2, 3]


def test_publish_on_commit_sends_after_commit(server):
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        with transaction.atomic():
            push.publish_on_commit(name, "committed", {"ok": True})
            assert client.no_event(0.3)  # nothing before the commit
        (event,) = client.events(1)
    assert event["event"] == "committed"


def test_publish_on_commit_in_rolled_back_transaction_sends_nothing(server):
    name = topic()

    class Rollback(Exception):
        pass

    with server.client() as client:
        client.subscribe(name)
        with pytest.raises(Rollback), transaction.atomic():
            push.publish_on_commit(name, "never", {})
            raise Rollback
        assert client.no_event(0.5)


def test_publish_to_unowned_topic_raises():
    with pytest.raises(push.UnknownTopic):
        push.publish("nobody.owns", "e", {})


def test_publish_many_fails_only_the_events_that_cannot_be_sent():
    name = topic()
    events = [
        (name, "e", {"n": 1}),
        ("nobody.owns", "e", {}),
        (name, "e", {"n": float("nan")}),
        (name, "e", {"n": 2}),
    ]
    first, unowned, not_json, last = asyncio.run(push.apublish_many(events))
    assert isinstance(first, push.Published) and first.offset == 1
    assert isinstance(unowned, push.UnknownTopic)
    assert isinstance(not_json, ValueError)
    assert isinstance(last, push.Published) and last.offset == 2
    assert last.epoch == first.epoch


def test_management_command_publishes(server):
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        call_command("publish", name, "cli", '{"from": "command"}')
        result = subprocess.run(
            [sys.executable, "manage.py", "publish", name, "cli", '{"n": 2}'],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=server.env,
            check=True,
        )
        assert "offset=2" in result.stdout
        events = client.events(2)
    assert [e["data"] for e in events] == [{"from": "command"}, {"n": 2}]


def test_management_command_rejects_bad_json_and_unknown_topic():
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("publish", "public.x", "e", "{nope")
    with pytest.raises(CommandError, match="no app owns"):
        call_command("publish", "nobody.x", "e", "{}")


def test_http_publish_with_token_reaches_subscriber(server):
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        status, body = post(
            server.http + "/api/publish",
            {"topic": name, "event": "http", "data": {"lang": "go"}},
        )
        assert status == 202
        assert body["offset"] == 1
        (event,) = client.events(1)
    assert event["data"] == {"lang": "go"}


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_http_publish_without_right_token_is_401(server, token):
    status, body = post(
        server.http + "/api/publish",
        {"topic": topic(), "event": "e", "data": 1},
        token=token,
    )
    assert status == 401
    assert body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([1, 2], "bad_json"),
        ({"topic": "nobody.x", "event": "e", "data": 1}, "bad_topic"),
        ({"topic": "public.x", "event": "", "data": 1}, "bad_event"),
        ({"topic": "public.x", "event": "e"}, "bad_frame"),
    ],
)
def test_http_publish_bad_body_is_400_with_code(server, body, code):
    status, reply = post(server.http + "/api/publish", body)
    assert status == 400
    assert reply["error"]["code"] == code


def test_http_publish_is_404_when_no_token_is_configured(make_server):
    server = make_server(REALTIME_API_TOKEN="")
    status, body = post(server.http + "/api/publish", {"topic": "public.x"})
    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_thousand_sequential_sync_publishes_in_one_process(server):
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        offsets = [push.publish(name, "n", {"i": i}).offset for i in range(1000)]
        events = client.events(1000, timeout=30)
    assert offsets == list(range(1, 1001))
    assert [e["data"]["i"] for e in events] == list(range(1000))


def test_healthz_reports_database_and_redis(server):
    with urllib.request.urlopen(server.http + "/healthz", timeout=5) as response:  # noqa: S310
        body = json.loads(response.read())
        assert response.status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_is_503_when_redis_is_unreachable(make_server):
    server_port_free = "redis://127.0.0.1:1/0"
    srv = make_server(REDIS_URL=server_port_free)
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(srv.http + "/healthz", timeout=10)  # noqa: S310
    assert failed.value.code == 503
    assert json.loads(failed.value.read())["checks"]["redis"].startswith("error")


def test_server_runs_under_uvicorn(make_server):
    server = make_server("uvicorn")
    name = topic()
    with server.client() as client:
        client.subscribe(name)
        push.publish(name, "uv", {"server": "uvicorn"})
        assert client.events(1)[0]["data"] == {"server": "uvicorn"}


def test_api_tokens_never_reach_the_server_log(make_server):
    server = make_server(
        REALTIME_API_TOKEN="right-token-1f3a9",
        REALTIME_METRICS_TOKEN="metrics-token-7c2e1",
        DJANGO_LOG_LEVEL="DEBUG",
    )
    url = server.http + "/api/publish"
    event = {"topic": topic(), "event": "e", "data": 1}
    assert post(url, event, token="right-token-1f3a9")[0] == 202
    assert post(url, event, token="wrong-token-88d0b")[0] == 401
    request = urllib.request.Request(
        server.http + "/metrics",
        headers={"Authorization": "Bearer metrics-token-7c2e1"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    server.stop()
    log = (ROOT / "var" / f"server-{server.port}.log").read_text()
    assert "/api/publish" in log  # the requests were logged...
    for secret in ("1f3a9", "88d0b", "7c2e1"):
        assert secret not in log
