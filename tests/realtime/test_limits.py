"""Connection limits that need their own server settings."""

import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.django_db(transaction=True)


def test_silent_connection_is_closed_after_the_idle_timeout_and_leaves_presence(
    make_server,
):
    server = make_server(REALTIME_IDLE_TIMEOUT="2")
    topic = f"public.t{uuid.uuid4().hex[:10]}"
    with server.client() as talker, server.client() as silent:
        talker.subscribe(topic)
        silent.subscribe(topic)
        name = silent.welcome["user"]["name"]
        deadline = time.monotonic() + 10
        left, next_ping = None, 0.0
        while time.monotonic() < deadline and left is None:
            if time.monotonic() >= next_ping:  # the talker keeps itself alive
                talker.send({"type": "ping"})
                next_ping = time.monotonic() + 0.3
            try:
                frame = talker.recv(timeout=0.1)
            except TimeoutError:
                continue
            if frame.get("event") == "presence.leave" and frame["data"]["name"] == name:
                left = frame
        assert left is not None
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # frames queued before the close come first
                silent.ws.recv(timeout=2)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002
        assert talker.request({"type": "ping"})["type"] == "pong"


def _closed_code(client) -> int | None:  # type: ignore[no-untyped-def]
    try:
        while True:
            client.ws.recv(timeout=5)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_logging_out_closes_that_sessions_sockets_only(server, make_user):
    from django.test import Client

    alice = make_user("alice")
    browser, phone = Client(), Client()
    browser.force_login(alice)
    phone.force_login(alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    other_cookie = f"sessionid={phone.cookies['sessionid'].value}"
    with server.client(cookie=cookie) as tab, server.client(cookie=other_cookie) as p:
        assert browser.post("/accounts/logout/").status_code == 302
        assert _closed_code(tab) == 4001
        assert p.request({"type": "ping"})["type"] == "pong"


def test_deactivating_a_user_closes_their_sockets(server, make_user, session_cookie):
    bob = make_user("bob")
    with server.client(cookie=session_cookie(bob)) as socket:
        bob.is_active = False
        bob.save()
        assert _closed_code(socket) == 4001


def refused(server, cookie: str | None) -> None:  # type: ignore[no-untyped-def]
    import json

    from websockets.sync.client import connect

    headers = {"Cookie": cookie} if cookie else None
    with connect(server.ws_url, origin=server.http, additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=5))["code"] == "too_many_connections"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4029


def test_connections_beyond_the_per_user_and_per_ip_limits_are_closed_4029(
    make_server, make_user, session_cookie
):
    from django.conf import settings

    server = make_server(
        REALTIME_MAX_CONNECTIONS_PER_USER="2",
        REALTIME_MAX_CONNECTIONS_PER_IP="3",
        REALTIME_REDIS_PREFIX=f"{settings.REALTIME_REDIS_PREFIX}:{uuid.uuid4().hex[:6]}",
    )
    cookie = session_cookie(make_user("many"))
    first, second = server.client(cookie=cookie), server.client(cookie=cookie)
    refused(server, cookie)  # one over the per-user limit
    second.close()
    time.sleep(0.3)
    again = server.client(cookie=cookie)  # a freed slot is usable again
    assert again.request({"type": "ping"})["type"] == "pong"
    guest = server.client()  # the third connection from this IP
    refused(server, None)  # one over the per-IP limit
    for client in (first, again, guest):
        client.close()


def test_group_memberships_outlive_the_channel_layer_group_expiry(make_server):
    """channels-redis drops members older than group_expiry; live ones re-add."""
    from asgiref.sync import async_to_sync
    from django.conf import settings

    from realtime.layers import RealtimeChannelLayer
    from realtime.push import group_name

    server = make_server(REALTIME_GROUP_EXPIRY="2")
    # A sender with the same expiry prunes members older than 2 s.
    layer = RealtimeChannelLayer(
        hosts=[settings.REDIS_URL],
        prefix=f"{settings.REALTIME_REDIS_PREFIX}:asgi",
        group_expiry=2,
    )
    topic = f"public.g{uuid.uuid4().hex[:12]}"
    with server.client() as client:
        client.subscribe(topic)
        for _ in range(8):  # 4 s: two expiry periods, while the client stays live
            time.sleep(0.5)
            assert client.request({"type": "ping"})["type"] == "pong"
        async_to_sync(layer.group_send)(
            group_name(topic),
            {"type": "realtime.event", "topic": topic, "event": "raw", "data": 1},
        )
        (event,) = client.events(1)
        assert event["event"] == "raw"


def test_refresh_extends_live_connections_and_never_revives_released_ones():
    import asyncio

    from realtime import connection_limits, redis_client

    ip = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"
    live = [(f"c{n}-{uuid.uuid4().hex[:6]}", 10_000 + n % 2, ip) for n in range(5)]
    gone = (f"gone-{uuid.uuid4().hex[:6]}", 10_000, ip)

    async def scenario() -> tuple[dict[bytes, float], dict[bytes, float]]:
        for entry in [*live, gone]:
            assert await connection_limits.admit(*entry) is None
        await connection_limits.release(*gone)
        ip_key = connection_limits._scopes(None, ip)[0][1]
        client = redis_client.async_client()
        before = dict(await client.zrange(ip_key, 0, -1, withscores=True))
        await asyncio.sleep(0.05)
        await connection_limits.refresh([*live, gone])
        after = dict(await client.zrange(ip_key, 0, -1, withscores=True))
        return before, after

    before, after = asyncio.run(scenario())
    assert set(after) == {c.encode() for c, _, _ in live}
    assert all(after[member] > before[member] for member in after)
