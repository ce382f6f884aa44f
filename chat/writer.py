"""Group commit for chat messages: one transaction for messages that arrive together.

A message's row must be committed before it is broadcast, and Django does a
process's database work on one thread, so a transaction per message capped a
process at about 100 messages/s (docs/performance.md). The writer stores all
posts that queued while the previous batch was being written in one
transaction and one INSERT, then publishes the stored ones in one Redis round
trip: batches grow with the load, and a lone message is written at once.
"""

import asyncio

from channels.db import database_sync_to_async

from chat import services
from chat.models import Message
from chat.selectors import message_data
from realtime import push
from realtime.loops import per_loop
from realtime.topics import Principal


class MessageWriter:
    """Queues posts from this loop's connections and stores them in batches."""

    def __init__(self) -> None:
        self._queued: list[tuple[services.MessagePost, asyncio.Future[Message]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, *, slug: str, author: Principal, text: object) -> Message:
        """Store and publish one message; returns once both are done.

        Raises ChatRefused if it was not stored, or the publish's error (the
        row stays: like publish_on_commit, it never publishes unstored rows).
        """
        post = services.MessagePost(slug, author, services.message_check_text(text))
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[Message] = loop.create_future()
        self._queued.append((post, stored))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        return await stored

    async def _write(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                results = await database_sync_to_async(services.message_store_many)(
                    [post for post, _ in batch]
                )
            except Exception as exc:  # noqa: BLE001 - every waiter hears of it
                results = [exc] * len(batch)
            try:
                results = await _publish_stored(results)
            except Exception as exc:  # noqa: BLE001 - no waiter may hang
                results = [exc if isinstance(r, Message) else r for r in results]
            for (_, stored), result in zip(batch, results, strict=True):
                if stored.done():  # the waiter was cancelled (socket closed)
                    continue
                if isinstance(result, Exception):
                    stored.set_exception(result)
                else:
                    stored.set_result(result)


async def _publish_stored(
    results: list[Message | Exception],
) -> list[Message | Exception]:
    """Publish the stored messages of a batch; a failed publish replaces its result."""
    stored = [(i, r) for i, r in enumerate(results) if isinstance(r, Message)]
    events = [(m.room.topic, "message", message_data(m)) for _, m in stored]
    published = await push.apublish_many(events)
    merged = list(results)
    for (index, _), outcome in zip(stored, published, strict=True):
        if isinstance(outcome, Exception):
            merged[index] = outcome
    return merged


message_writer = per_loop(MessageWriter)
