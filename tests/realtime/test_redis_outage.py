"""Redis stopped for real mid-stream (a private redis-server), then restarted."""

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import API_TOKEN
from tests.services import PrivateRedis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:  # type: ignore[no-untyped-def]
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    yield redis_server
    redis_server.stop()


def status_of(url: str, body: object | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {API_TOKEN}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_server_survives_a_redis_outage_and_clients_recover(make_server, private_redis):
    server = make_server(REDIS_URL=f"redis://127.0.0.1:{private_redis.port}/0")
    topic = f"public.t{uuid.uuid4().hex[:10]}"
    publish = {"topic": topic, "event": "n", "data": {"i": 0}}
    with server.client() as client:
        before = client.subscribe(topic)
        assert status_of(server.http + "/api/publish", publish) == 202
        client.events(1)

        private_redis.stop()
        time.sleep(1)
        assert status_of(server.http + "/healthz") == 503  # HTTP keeps answering
        assert status_of(server.http + "/api/publish", publish) == 503  # loud
        time.sleep(2)
        private_redis.start()  # empty: history and presence are gone

        deadline = time.monotonic() + 20
        while status_of(server.http + "/healthz") != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        # The client is told to recover: a lagged error, or a closed socket.
        told = None
        try:
            while told is None:
                frame = client.recv(timeout=15)
                if frame["type"] == "error" and frame["code"] == "lagged":
                    told = "lagged"
        except ConnectionClosed:
            told = "closed"
        assert told in {"lagged", "closed"}

    with server.client() as client:  # resubscribe with since, as client.js does
        reply = client.subscribe(topic, since={"offset": 1, "epoch": before["epoch"]})
        assert reply["recovered"] is False  # the epoch changed: reload over HTTP
        assert (
            status_of(server.http + "/api/publish", {**publish, "data": {"i": 1}})
            == 202
        )
        (event,) = client.events(1)
        assert event["data"] == {"i": 1}
        members = client.request({"type": "presence", "topic": topic})["members"]
        assert [m["name"] for m in members] == [client.welcome["user"]["name"]]


def test_channel_layer_groups_come_back_after_redis_restarts_empty(
    make_server, private_redis
):
    from asgiref.sync import async_to_sync
    from django.conf import settings

    from realtime.layers import RealtimeChannelLayer
    from realtime.push import group_name

    server = make_server(REDIS_URL=f"redis://127.0.0.1:{private_redis.port}/0")
    topic = f"public.t{uuid.uuid4().hex[:10]}"
    layer = RealtimeChannelLayer(
        hosts=[private_redis.url], prefix=f"{settings.REALTIME_REDIS_PREFIX}:asgi"
    )
    raw = {"type": "realtime.event", "topic": topic, "event": "raw"}
    with server.client() as client:
        client.subscribe(topic)
        assert client.request({"type": "ping"})["type"] == "pong"  # joined presence
        private_redis.stop()
        time.sleep(1)
        private_redis.start()  # empty: the process's group memberships are gone
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "the raw send never arrived"
            async_to_sync(layer.group_send)(group_name(topic), raw)
            try:
                frame = client.recv(timeout=0.5)
            except TimeoutError:
                continue
            if frame["type"] == "event" and frame["event"] == "raw":
                break  # other frames: lagged errors, presence events
