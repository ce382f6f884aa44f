"""Chat rooms over a real socket: messages, privacy, limits, typing, moderation."""

import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings

from chat import services
from chat.models import Message, Room

pytestmark = pytest.mark.django_db(transaction=True)


def lobby_room() -> Room:
    """The lobby the migration creates (transactional tests flush it; recreate)."""
    room, _ = Room.objects.get_or_create(slug="lobby", defaults={"title": "Lobby"})
    return room


def new_room(owner, *, private: bool = False) -> Room:  # type: ignore[no-untyped-def]
    return services.room_create(
        slug=f"r{uuid.uuid4().hex[:10]}", owner=owner, is_private=private
    )


def say(client, room: Room, text: str) -> dict:  # type: ignore[no-untyped-def]
    return client.request(
        {
            "type": "publish",
            "topic": room.topic,
            "event": "message",
            "data": {"text": text},
        }
    )


def test_member_receives_message_from_other_member_exactly_as_sent(
    server, make_user, session_cookie
):
    alice, bob = make_user("alice"), make_user("bob")
    room = new_room(alice)
    text = "  <b>bold?</b> & ünïcode 🎉\nsecond line  "
    with (
        server.client(cookie=session_cookie(alice)) as a,
        server.client(cookie=session_cookie(bob)) as b,
    ):
        a.subscribe(room.topic)
        b.subscribe(room.topic)
        ack = say(a, room, text)
        assert ack["type"] == "ack"
        (event,) = b.events(1)
    stored = Message.objects.get(pk=ack["id"])
    assert event["event"] == "message"
    assert event["data"]["text"] == text == stored.text
    assert event["data"]["id"] == stored.pk
    assert event["data"]["user"] == {"id": alice.pk, "name": "alice"}
    assert isinstance(event["data"]["ts"], int)


def test_client_in_another_room_sees_nothing(server, make_user, session_cookie):
    alice = make_user("alice")
    room, other = new_room(alice), new_room(alice)
    with (
        server.client(cookie=session_cookie(alice)) as a,
        server.client() as elsewhere,
    ):
        a.subscribe(room.topic)
        elsewhere.subscribe(other.topic)
        say(a, room, "only here")
        assert elsewhere.no_event(0.5)


def test_private_room_refuses_non_member_and_guest(server, make_user, session_cookie):
    owner, outsider = make_user("owner"), make_user("outsider")
    room = new_room(owner, private=True)
    with server.client(cookie=session_cookie(outsider)) as o, server.client() as g:
        for client in (o, g):
            reply = client.request({"type": "subscribe", "topic": room.topic})
            assert reply["code"] == "forbidden"
            assert say(client, room, "let me in")["code"] == "forbidden"
    assert not Message.objects.filter(room=room).exists()


def test_guest_posts_in_public_room_under_a_guest_name(server):
    lobby = lobby_room()
    with server.client() as guest, server.client() as reader:
        reader.subscribe(lobby.topic)
        assert say(guest, lobby, "hi from a guest")["type"] == "ack"
        (event,) = reader.events(1)
    assert event["data"]["user"]["id"] is None
    assert event["data"]["user"]["name"] == guest.welcome["user"]["name"]
    assert event["data"]["user"]["name"].startswith("guest-")


def test_guests_are_refused_when_guests_are_off(make_server):
    server = make_server(CHAT_ALLOW_GUESTS="0")
    with server.client() as guest:
        reply = guest.request({"type": "subscribe", "topic": "chat.lobby"})
        assert reply["code"] == "forbidden"


BURST = 10


@pytest.fixture
def slow_refill_server(make_server):  # type: ignore[no-untyped-def]
    """A server whose chat buckets barely refill, so "burst + 1" is exact on any
    machine; its own Redis prefix keeps its buckets apart from other tests'."""
    return make_server(
        CHAT_RATE="0.001",
        CHAT_BURST=str(BURST),
        REALTIME_REDIS_PREFIX=f"{settings.REALTIME_REDIS_PREFIX}:{uuid.uuid4().hex[:6]}",
    )


def test_messages_beyond_the_burst_are_rate_limited(
    slow_refill_server, make_user, session_cookie
):
    server = slow_refill_server
    user = make_user("chatty")
    room = new_room(user)
    with server.client(cookie=session_cookie(user)) as client:
        replies = [say(client, room, f"m{i}") for i in range(BURST + 1)]
    assert [r["type"] for r in replies[:-1]] == ["ack"] * BURST
    assert replies[-1]["code"] == "rate_limited"
    assert Message.objects.filter(room=room).count() == BURST


def test_per_user_limit_spans_the_users_connections(
    slow_refill_server, make_user, session_cookie
):
    server = slow_refill_server
    user = make_user("twotabs")
    room = new_room(user)
    cookie = session_cookie(user)
    with server.client(cookie=cookie) as one, server.client(cookie=cookie) as two:
        half = BURST // 2
        replies = [say(one, room, "a") for _ in range(half)]
        replies += [say(two, room, "b") for _ in range(BURST - half)]
        assert {r["type"] for r in replies} == {"ack"}
        assert say(two, room, "over")["code"] == "rate_limited"


def test_invalid_message_gets_invalid_and_is_not_broadcast(server):
    lobby = lobby_room()
    with server.client() as writer, server.client() as reader:
        reader.subscribe(lobby.topic)
        assert say(writer, lobby, "   ")["code"] == "invalid"
        assert say(writer, lobby, "x" * 4001)["code"] == "invalid"
        reply = writer.request(
            {"type": "publish", "topic": lobby.topic, "event": "shout", "data": {}}
        )
        assert reply["code"] == "bad_frame"
        assert reader.no_event(0.4)


def test_typing_is_ephemeral_and_throttled(server, make_user, session_cookie):
    user = make_user("typist")
    room = new_room(user)
    with server.client(cookie=session_cookie(user)) as typist, server.client() as b:
        b.subscribe(room.topic)
        typing = {"type": "publish", "topic": room.topic, "event": "typing", "data": {}}
        first, second = typist.request(typing), typist.request(typing)
        assert (first["sent"], second["sent"]) == (True, False)
        (event,) = b.events(1)
        assert event["event"] == "typing"
        assert event["data"]["user"]["name"] == "typist"
        assert "offset" not in event
        assert b.no_event(0.4)
    assert not Message.objects.filter(room=room).exists()


def test_owner_deletes_a_message_and_everyone_is_told(
    server, make_user, session_cookie
):
    owner, other = make_user("owner"), make_user("other")
    room = new_room(owner)
    with (
        server.client(cookie=session_cookie(owner)) as o,
        server.client(cookie=session_cookie(other)) as x,
    ):
        x.subscribe(room.topic)
        message_id = say(x, room, "oops")["id"]
        x.events(1)
        delete = {
            "type": "publish",
            "topic": room.topic,
            "event": "delete",
            "data": {"id": message_id},
        }
        assert x.request(delete)["code"] == "forbidden"
        assert o.request(delete)["type"] == "ack"
        (event,) = x.events(1)
    assert event == {**event, "event": "message.deleted", "data": {"id": message_id}}
    assert Message.objects.get(pk=message_id).deleted_at is not None


def test_removed_member_loses_the_live_subscription(server, make_user, session_cookie):
    owner, member = make_user("owner"), make_user("member")
    room = new_room(owner, private=True)
    services.member_add(room=room, actor=_principal(owner), username="member")
    with server.client(cookie=session_cookie(member)) as m:
        m.subscribe(room.topic)
        services.member_remove(room=room, actor=_principal(owner), username="member")
        deadline = time.monotonic() + 5
        while True:
            frame = m.recv(timeout=max(0.01, deadline - time.monotonic()))
            if frame["type"] == "error":
                break
        assert frame["code"] == "forbidden"
        assert frame["topic"] == room.topic
        services.message_create(room=room, author=_principal(owner), text="secret")
        assert m.no_event(0.5)


def _principal(user):  # type: ignore[no-untyped-def]
    from realtime.topics import Principal

    return Principal(user_id=user.pk, name=user.username)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_history_api_pages_and_rejects_bad_parameters(server):
    lobby = lobby_room()
    guest = _guest()
    ids = [
        services.message_create(room=lobby, author=guest, text=f"h{i}").pk
        for i in range(60)
    ]
    status, body = get(f"{server.http}/chat/lobby/messages")
    assert status == 200
    assert [m["id"] for m in json.loads(body)["messages"]] == ids[-50:]
    status, body = get(f"{server.http}/chat/lobby/messages?before={ids[-50]}")
    assert [m["id"] for m in json.loads(body)["messages"]] == ids[:10]
    status, body = get(f"{server.http}/chat/lobby/messages?before=abc")
    assert status == 400
    assert json.loads(body)["error"]["code"] == "bad_request"
    status, body = get(f"{server.http}/chat/no-such-room/messages")
    assert status == 404


def _guest():  # type: ignore[no-untyped-def]
    from realtime.topics import Principal

    return Principal(user_id=None, name="guest-test", is_guest=True)


def test_pages_answer_and_bad_slugs_are_404_not_500(server):
    lobby_room()
    assert get(f"{server.http}/chat/")[0] == 200
    status, body = get(f"{server.http}/chat/lobby/")
    assert status == 200
    assert "chat/chat.js" in body
    assert get(f"{server.http}/chat/NOT%20A%20SLUG!/")[0] == 404
    assert get(f"{server.http}/chat/{'a' * 300}/")[0] == 404
