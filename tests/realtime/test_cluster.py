"""Two server processes behind nginx, two Redis shards: they behave as one server.

The topology is the one docs/deployment.md describes: the shipped nginx site
(deploy/nginx/realtime.conf) in front of one uvicorn and one daphne process,
topics spread over two private redis-servers by REDIS_SHARD_URLS, one database.
"""

import json
import re
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import kombu
import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from chat import services
from chat.models import Room
from realtime import redis_client
from realtime.redis_urls import celery_broker, shard_index
from tests.conftest import API_TOKEN, ServerProcess
from tests.services import PrivateNginx, PrivateRedis
from tests.wsclient import WsClient

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Cluster:
    shards: list[PrivateRedis]
    servers: list[ServerProcess]
    nginx: PrivateNginx

    def client(self, **kwargs: Any) -> WsClient:
        return WsClient(self.nginx.ws_url, origin=self.nginx.http, **kwargs)

    def publish(self, topic: str, event: str, data: object) -> dict[str, Any]:
        request = urllib.request.Request(
            self.nginx.http + "/api/publish",
            data=json.dumps({"topic": topic, "event": event, "data": data}).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {API_TOKEN}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return dict(json.load(response))

    def connections_on(self, server: ServerProcess) -> float:
        """realtime_connections_open, read from that process directly."""
        with urllib.request.urlopen(server.http + "/metrics", timeout=5) as response:  # noqa: S310 - loopback
            text = response.read().decode()
        found = re.search(r"^realtime_connections_open (\S+)$", text, re.MULTILINE)
        assert found, "realtime_connections_open missing from /metrics"
        return float(found.group(1))


@pytest.fixture
def cluster(tmp_path, make_server) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    shards = [PrivateRedis(tmp_path), PrivateRedis(tmp_path)]
    for shard in shards:
        shard.start()
    env = {
        "REDIS_SHARD_URLS": " ".join(shard.url for shard in shards),
        "REALTIME_TRUSTED_PROXY": "127.0.0.1",
    }
    try:
        servers = [make_server("uvicorn", **env), make_server("daphne", **env)]
        nginx = PrivateNginx(tmp_path, [s.port for s in servers]).start()
        yield Cluster(shards, servers, nginx)
        nginx.stop()
    finally:  # a failed start must not leave redis-servers behind
        for shard in shards:
            shard.stop()


def room_on_shard(index: int) -> Room:
    """A public room whose topic the two-shard hash puts on shard `index`."""
    while True:
        slug = f"r{uuid.uuid4().hex[:10]}"
        if shard_index(f"chat.{slug}", 2) == index:
            return services.room_create(slug=slug, owner=None, is_private=False)


def say(client: WsClient, room: Room, text: str) -> None:
    client.send(
        {
            "type": "publish",
            "topic": room.topic,
            "event": "message",
            "data": {"text": text},
        }
    )


def say_many(client: WsClient, room: Room, prefix: str, count: int) -> None:
    for i in range(count):
        say(client, room, f"{prefix}{i}")


def messages(client: WsClient, count: int) -> list[tuple[int, str]]:
    return [
        (frame["offset"], frame["data"]["text"])
        for frame in client.events(count, timeout=20)
        if frame["event"] == "message"
    ]


def test_members_on_both_processes_get_every_message_in_the_same_order(cluster):
    rooms = [room_on_shard(0), room_on_shard(1)]
    for room in rooms:
        clients = [cluster.client() for _ in range(6)]
        try:
            for client in clients:
                client.subscribe(room.topic)
            assert all(cluster.connections_on(s) >= 1 for s in cluster.servers)
            # Four members on both processes talk at once.
            senders = [
                threading.Thread(target=say_many, args=(c, room, f"{n}-", 8))
                for n, c in enumerate(clients[:4])
            ]
            for thread in senders:
                thread.start()
            for thread in senders:
                thread.join()
            seen = [messages(client, 32) for client in clients]
        finally:
            for client in clients:
                client.close()
        assert all(s == seen[0] for s in seen), "members saw different orders"
        assert [offset for offset, _ in seen[0]] == list(range(1, 33))
        assert sorted(text for _, text in seen[0]) == sorted(
            f"{n}-{i}" for n in range(4) for i in range(8)
        )


def test_offsets_and_history_live_on_the_topics_shard_and_healthz_checks_each(cluster):
    rooms = [room_on_shard(0), room_on_shard(1)]
    for index, room in enumerate(rooms):
        cluster.publish(room.topic, "note", {"n": 1})
        seq = redis_client.key(room.topic, "seq")
        assert cluster.shards[index].client().get(seq) == b"1"
        assert cluster.shards[1 - index].client().exists(seq) == 0
    checks = health(cluster.servers[0])
    assert checks == {
        "database": "ok",
        "redis": "ok",
        "redis_shard_0": "ok",
        "redis_shard_1": "ok",
    }
    cluster.shards[1].stop()
    assert health(cluster.servers[0])["redis_shard_1"].startswith("error")


def health(server: ServerProcess) -> dict[str, str]:
    """The checks /healthz reports (any status)."""
    try:
        with urllib.request.urlopen(server.http + "/healthz", timeout=10) as response:  # noqa: S310 - loopback
            return dict(json.load(response)["checks"])
    except urllib.error.HTTPError as error:
        assert error.code == 503
        return dict(json.load(error)["checks"])


def test_presence_counts_members_on_every_process(cluster, make_user, session_cookie):
    room = room_on_shard(1)
    users = [make_user(f"user{n}") for n in range(4)]
    clients = [cluster.client(cookie=session_cookie(user)) for user in users]
    try:
        for client in clients:
            client.subscribe(room.topic)
        assert all(cluster.connections_on(s) >= 1 for s in cluster.servers)
        for client in clients:
            reply = client.request({"type": "presence", "topic": room.topic})
            names = sorted(member["name"] for member in reply["members"])
            assert names == ["user0", "user1", "user2", "user3"]
    finally:
        for client in clients:
            client.close()


def test_token_reconnects_through_nginx_stay_out_of_its_log(
    cluster, make_user, session_cookie
):
    user = make_user("via-nginx")
    with cluster.client(cookie=session_cookie(user)) as first:
        token = first.welcome["token"]
    url = f"{cluster.nginx.ws_url}?token={token}"
    with connect(url, origin=cluster.nginx.http) as ws:
        welcome = json.loads(ws.recv(timeout=5))
    assert welcome["user"]["id"] == user.pk
    log_file = cluster.nginx.dir / "logs" / "access.log"
    deadline = time.monotonic() + 10  # nginx logs a WebSocket when it closes
    while log_file.read_text().count('"GET /ws/"') < 2:
        assert time.monotonic() < deadline, log_file.read_text()
        time.sleep(0.1)
    assert "token=" not in log_file.read_text()
    assert token not in log_file.read_text()


def test_killed_process_clients_reconnect_through_nginx_and_recover(cluster):
    room = room_on_shard(0)
    clients = [cluster.client() for _ in range(6)]
    last: dict[int, dict[str, Any]] = {}
    for n, client in enumerate(clients):
        reply = client.subscribe(room.topic)
        last[n] = {"offset": reply["offset"], "epoch": reply["epoch"]}
    for i in range(3):
        cluster.publish(room.topic, "message", {"text": f"before-{i}"})
    for n, client in enumerate(clients):
        for frame in client.events(3):
            last[n] = {"offset": frame["offset"], "epoch": frame["epoch"]}

    victim = cluster.servers[1]
    assert victim.process is not None
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    # Published while the victim's clients are cut off (nginx skips the dead one).
    for i in range(5):
        cluster.publish(room.topic, "message", {"text": f"gap-{i}"})

    survivors, orphans = [], []
    for n, client in enumerate(clients):
        try:
            texts = [f["data"]["text"] for f in client.events(5)]
            assert texts == [f"gap-{i}" for i in range(5)]
            survivors.append(client)
        except ConnectionClosed:
            orphans.append(n)
    assert survivors and orphans, "clients were not spread over both processes"

    for n in orphans:
        clients[n].close()
        clients[n] = cluster.client()
        reply = clients[n].subscribe(room.topic, since=last[n])
        assert reply["recovered"] is True
        replayed = clients[n].events(5)
        assert [f["data"]["text"] for f in replayed] == [f"gap-{i}" for i in range(5)]
        assert [f["offset"] for f in replayed] == [
            last[n]["offset"] + k for k in range(1, 6)
        ]
    assert cluster.connections_on(cluster.servers[0]) == len(clients)

    cluster.publish(room.topic, "message", {"text": "after"})
    for client in clients:
        assert [f["data"]["text"] for f in client.events(1)] == ["after"]
        client.close()


def test_topic_shard_behind_redis_sentinel(tmp_path, make_server):
    master = PrivateRedis(tmp_path)
    master.start()
    sentinel = PrivateRedis(tmp_path, sentinel_of=master)
    sentinel.start()
    try:
        server = make_server(
            "uvicorn",
            REDIS_SHARD_URLS=f"redis+sentinel://127.0.0.1:{sentinel.port}/rtmaster",
        )
        room = room_on_shard(0)
        with server.client() as a, server.client() as b:
            a.subscribe(room.topic)
            b.subscribe(room.topic)
            a.send(
                {
                    "type": "publish",
                    "topic": room.topic,
                    "event": "message",
                    "data": {"text": "via sentinel"},
                }
            )
            (event,) = b.events(1)
        assert event["data"]["text"] == "via sentinel"
        assert master.client().get(redis_client.key(room.topic, "seq")) == b"1"
        server.stop()
        # Celery's broker for a Sentinel REDIS_URL: a message goes through.
        url = f"redis+sentinel://127.0.0.1:{sentinel.port}/rtmaster/0"
        broker, options = celery_broker(url)
        with kombu.Connection(broker, transport_options=options) as conn:
            queue = conn.SimpleQueue(f"{settings.REALTIME_REDIS_PREFIX}-sentinel")
            queue.put({"job": 1})
            assert queue.get(timeout=5).payload == {"job": 1}
            queue.close()
    finally:
        sentinel.stop()
        master.stop()
