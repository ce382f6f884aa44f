"""Group commit: messages posted together are stored in one transaction."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import DatabaseError, connections

from chat import services
from chat.models import Message
from chat.writer import MessageWriter
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
