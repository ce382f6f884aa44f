"""Error frames, limits and topic authorization over a real socket."""

import uuid

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True)


def public_topic() -> str:
    return f"public.t{uuid.uuid4().hex[:12]}"


def test_oversize_frame_is_too_large(server):
    limit = settings.REALTIME_MAX_FRAME_BYTES
    with server.client() as client:
        padding = "x" * limit
        client.send({"type": "ping", "ref": "big", "pad": padding})
        reply = client.recv()
        assert reply["code"] == "too_large"
        assert client.request({"type": "ping"})["type"] == "pong"


def test_binary_frame_is_bad_frame(server):
    with server.client() as client:
        client.send_raw(b"\x81\x82")
        assert client.recv()["code"] == "bad_frame"


def test_unknown_type_and_missing_fields_get_their_codes(server):
    with server.client() as client:
        assert client.request({"type": "nope"})["code"] == "unknown_type"
        assert client.request({"type": "subscribe"})["code"] == "bad_topic"
        assert (
            client.request({"type": "publish", "topic": "public.a", "event": "e"})[
                "code"
            ]
            == "bad_frame"
        )


def test_topic_no_app_owns_is_refused(server):
    with server.client() as client:
        reply = client.request({"type": "subscribe", "topic": "nobody.owns.this"})
        assert reply["code"] == "bad_topic"


def test_unsubscribe_without_subscription_is_not_subscribed(server):
    with server.client() as client:
        reply = client.request({"type": "unsubscribe", "topic": public_topic()})
        assert reply["code"] == "not_subscribed"


def test_frames_beyond_the_burst_are_rate_limited(make_server):
    # A refill rate near zero makes "burst + 1" exact however slow the machine.
    burst = 5
    server = make_server(REALTIME_CLIENT_RATE="0.001", REALTIME_CLIENT_BURST="5")
    with server.client() as client:
        for n in range(burst + 1):
            client.send({"type": "ping", "ref": n})
        replies = [client.recv() for _ in range(burst + 1)]
        assert [r["type"] for r in replies[:burst]] == ["pong"] * burst
        assert replies[burst]["code"] == "rate_limited"
        assert "ref" not in replies[burst]  # refused before parsing


def test_anonymous_is_refused_on_a_user_topic(server, make_user):
    user = make_user("carol")
    with server.client() as client:
        reply = client.request({"type": "subscribe", "topic": f"user.{user.pk}"})
        assert reply["code"] == "forbidden"


def test_user_is_refused_on_another_users_topic(server, make_user, session_cookie):
    alice, bob = make_user("alice"), make_user("bob")
    with server.client(cookie=session_cookie(alice)) as client:
        reply = client.request({"type": "subscribe", "topic": f"user.{bob.pk}"})
        assert reply["code"] == "forbidden"
        own = client.subscribe(f"user.{alice.pk}")
        assert own["topic"] == f"user.{alice.pk}"


def test_broadcast_is_readable_by_all_and_publishable_by_no_client(
    server, make_user, session_cookie
):
    staff = make_user("root", staff=True)
    with server.client(cookie=session_cookie(staff)) as client:
        client.subscribe("broadcast")
        reply = client.request(
            {"type": "publish", "topic": "broadcast", "event": "x", "data": 1}
        )
        assert reply["code"] == "forbidden"


def test_subscribing_twice_is_an_error_not_a_second_subscription(server):
    topic = public_topic()
    with server.client() as client:
        client.subscribe(topic)
        assert client.request({"type": "subscribe", "topic": topic})["code"] == (
            "bad_frame"
        )


def test_subscription_beyond_the_limit_is_refused(make_server):
    server = make_server(REALTIME_MAX_SUBSCRIPTIONS="3")
    with server.client() as client:
        for _ in range(3):
            client.subscribe(public_topic())
        reply = client.request({"type": "subscribe", "topic": public_topic()})
        assert reply["code"] == "too_many_subscriptions"


def test_presence_request_lists_people_once_per_user(server, make_user, session_cookie):
    topic = public_topic()
    alice, bob = make_user("alice"), make_user("bob")
    cookie_a, cookie_b = session_cookie(alice), session_cookie(bob)
    with (
        server.client(cookie=cookie_a) as a1,
        server.client(cookie=cookie_a) as a2,
        server.client(cookie=cookie_b) as b1,
    ):
        for client in (a1, a2, b1):
            client.subscribe(topic)
        reply = b1.request({"type": "presence", "topic": topic})
        members = {m["name"]: m["connections"] for m in reply["members"]}
        assert members == {"alice": 2, "bob": 1}
