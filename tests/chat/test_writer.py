"""Group commit: messages posted together are stored in one transaction."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.db import DatabaseError, connections

from chat import services
from chat.models import Message
from chat.writer import MessageWriter
from realtime import push, redis_client
from realtime.topics import Principal

pytestmark = pytest.mark.django_db(transaction=True)


def principal(user) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(user_id=user.pk, name=user.username)


def post_all(writer: MessageWriter, posts: list[tuple[str, Principal, object]]):  # type: ignore[no-untyped-def]
    """Post every message at once; each result is a Message or the exception."""

    async def run():  # type: ignore[no-untyped-def]
        try:
            return await asyncio.gather(
                *(writer.store(slug=s, author=a, text=t) for s, a, t in posts),
                return_exceptions=True,
            )
        finally:
            # The database thread keeps its connection (CONN_MAX_AGE); close it,
            # or it still holds the test database when pytest drops it.
            await database_sync_to_async(connections.close_all)()

    return asyncio.run(run())


@pytest.fixture
def batches(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Sizes of the batches message_store_many was called with."""
    sizes: list[int] = []
    store_many = services.message_store_many

    def counting(posts):  # type: ignore[no-untyped-def]
        sizes.append(len(posts))
        return store_many(posts)

    monkeypatch.setattr(services, "message_store_many", counting)
    return sizes


def test_messages_posted_together_are_stored_in_one_batch(make_user, batches):
    alice = make_user("alice")
    room = services.room_create(slug="together", owner=alice)
    posts = [(room.slug, principal(alice), f"m{n}") for n in range(40)]
    results = post_all(MessageWriter(), posts)
    assert batches == [40]
    assert [m.text for m in results] == [f"m{n}" for n in range(40)]
    stored = list(Message.objects.filter(room=room).order_by("id"))
    assert [m.text for m in stored] == [f"m{n}" for n in range(40)]
    assert [m.pk for m in results] == [m.pk for m in stored]


def published_texts(topic: str) -> list[tuple[int, str]]:
    """(offset, text) of every event in a topic's history, oldest first."""
    entries = redis_client.sync_shard(topic).xrange(redis_client.key(topic, "log"))
    frames = [json.loads(fields[b"f"]) for _, fields in entries]
    return [(frame["offset"], frame["data"]["text"]) for frame in frames]


def test_a_batch_is_published_in_one_round_trip_in_insert_order(make_user, monkeypatch):
    alice = make_user("alice")
    room = services.room_create(slug="ordered", owner=alice)
    publishes: list[int] = []
    publish_many = push.apublish_many

    async def counting(events):  # type: ignore[no-untyped-def]
        publishes.append(len(events))
        return await publish_many(events)

    monkeypatch.setattr(push, "apublish_many", counting)
    posts = [(room.slug, principal(alice), f"m{n}") for n in range(25)]
    results = post_all(MessageWriter(), posts)
    assert publishes == [25]
    assert published_texts(room.topic) == [(n + 1, f"m{n}") for n in range(25)]
    assert [m.pk for m in results] == sorted(m.pk for m in results)


def test_a_message_is_published_even_when_its_sender_stops_waiting(make_user):
    alice = make_user("alice")
    room = services.room_create(slug="left", owner=alice)
    writer = MessageWriter()

    async def post_and_leave() -> None:
        waiting = asyncio.ensure_future(
            writer.store(slug=room.slug, author=principal(alice), text="bye")
        )
        await asyncio.sleep(0)  # queued; the batch is being written
        waiting.cancel()  # the socket closed
        assert writer._writer is not None
        await writer._writer
        await database_sync_to_async(connections.close_all)()

    asyncio.run(post_and_leave())
    assert Message.objects.get(room=room).text == "bye"
    assert published_texts(room.topic) == [(1, "bye")]


def test_a_failed_publish_reaches_the_sender_and_keeps_the_row(make_user, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from realtime import script_batch

    alice = make_user("alice")
    room = services.room_create(slug="unheard", owner=alice)

    async def redis_gone(client, calls):  # type: ignore[no-untyped-def]
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(script_batch, "run_pipelined", redis_gone)
    (result,) = post_all(MessageWriter(), [(room.slug, principal(alice), "lost?")])
    assert isinstance(result, RedisConnectionError)
    assert Message.objects.get(room=room).text == "lost?"


def test_an_unexpected_publish_error_reaches_every_stored_post(make_user, monkeypatch):
    alice = make_user("alice")
    room = services.room_create(slug="broken-publish", owner=alice)

    async def broken(events):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug in publish")

    monkeypatch.setattr(push, "apublish_many", broken)
    writer = MessageWriter()
    posts = [(room.slug, principal(alice), "kept"), ("no-room", principal(alice), "x")]

    async def run():  # type: ignore[no-untyped-def]
        stores = [writer.store(slug=s, author=a, text=t) for s, a, t in posts]
        try:  # a waiter left hanging would fail here, not block the suite
            return await asyncio.wait_for(
                asyncio.gather(*stores, return_exceptions=True), timeout=10
            )
        finally:
            await database_sync_to_async(connections.close_all)()

    stored, refused = asyncio.run(run())
    assert isinstance(stored, RuntimeError)
    assert isinstance(refused, services.ChatRefused)
    assert Message.objects.get(room=room).text == "kept"


def test_a_refused_post_does_not_stop_the_rest_of_its_batch(make_user, batches):
    owner, outsider = make_user("owner"), make_user("outsider")
    public = services.room_create(slug="open", owner=owner)
    private = services.room_create(slug="closed", owner=owner, is_private=True)
    results = post_all(
        MessageWriter(),
        [
            (public.slug, principal(outsider), "hello"),
            (private.slug, principal(outsider), "let me in"),
            ("no-such-room", principal(outsider), "anyone?"),
            (public.slug, principal(owner), "welcome"),
        ],
    )
    assert batches == [4]
    assert results[0].text == "hello" and results[3].text == "welcome"
    for refused in results[1:3]:
        assert isinstance(refused, services.ChatRefused)
        assert refused.code == "forbidden"
    assert Message.objects.count() == 2


def test_invalid_text_is_refused_before_it_is_queued(make_user, batches):
    alice = make_user("alice")
    room = services.room_create(slug="texts", owner=alice)
    (result,) = post_all(MessageWriter(), [(room.slug, principal(alice), "  ")])
    assert isinstance(result, services.ChatRefused) and result.code == "invalid"
    assert batches == []


def test_a_database_error_fails_every_post_of_the_batch_and_stores_none(
    make_user, monkeypatch
):
    alice = make_user("alice")
    room = services.room_create(slug="broken", owner=alice)

    def failing_insert(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(Message.objects, "bulk_create", failing_insert)
    results = post_all(
        MessageWriter(), [(room.slug, principal(alice), f"m{n}") for n in range(3)]
    )
    assert all(isinstance(r, DatabaseError) for r in results)
    monkeypatch.undo()
    assert Message.objects.count() == 0
