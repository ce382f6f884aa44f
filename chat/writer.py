"""Group commit for chat messages: one transaction for messages that arrive together.

A message's row must be committed before it is broadcast, and Django does a
process's database work on one thread, so a transaction per message capped a
process at about 100 messages/s (docs/performance.md). The writer stores all
posts that queued while the previous batch was being written in one
transaction and one INSERT: batches grow with the load, and a lone message is
written at once.
"""

import asyncio

from channels.db import database_sync_to_async

from chat import services
from chat.models import Message
from realtime.loops import per_loop
from realtime.topics import Principal


class MessageWriter:
    """Queues posts from this loop's connections and stores them in batches."""

    def __init__(self) -> None:
        self._queued: list[tuple[services.MessagePost, asyncio.Future[Message]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, *, slug: str, author: Principal, text: object) -> Message:
        """Store one message; returns once it is committed (ChatRefused if not)."""
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
            for (_, stored), result in zip(batch, results, strict=True):
                if stored.done():  # the waiter was cancelled (socket closed)
                    continue
                if isinstance(result, Exception):
                    stored.set_exception(result)
                else:
                    stored.set_result(result)


message_writer = per_loop(MessageWriter)
