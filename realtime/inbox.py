"""The process's channel-layer inbox: one channel joins each group once.

Raw channel-layer messages (`group_send` to a topic's group, revocations,
closes on logout) reach a server process through one channel per event loop,
not one per connection. The inbox joins a group when its first local
connection wants it, leaves it when the last one goes, and routes each message
to the local connections behind the group. No channel queue or receive task
per connection, and a group_send costs one Redis message per process.
"""

import asyncio
import logging
import time
from typing import Any, Protocol

from channels.layers import get_channel_layer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from realtime.layers import RealtimeChannelLayer
from realtime.loops import per_loop
from realtime.push import group_name

logger = logging.getLogger(__name__)

RECEIVE_RETRY_MAX = 2.0


class Member(Protocol):
    def on_group_message(self, message: dict[str, Any]) -> None:
        """Act on one channel-layer message sent to a group this member is in."""


class ProcessInbox:
    """Channel-layer group memberships of every connection in this process."""

    def __init__(self, layer: Any) -> None:
        self._layer = layer
        self._channel: str | None = None
        self._members: dict[str, set[Member]] = {}
        self._joining: dict[str, asyncio.Future[None]] = {}
        self._refreshing: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    async def add(self, groups: list[str], member: Member) -> None:
        """Route these groups' messages to member; returns once Redis has them.

        Only groups this process is not in yet cost a Redis round trip; a
        Redis that restarted empty gets every membership back (refresh_soon).
        """
        new: list[str] = []
        pending: list[asyncio.Future[None]] = []
        for group in groups:
            members = self._members.get(group)
            if members is None:
                members = self._members[group] = set()
                new.append(group)
            elif group in self._joining:
                pending.append(self._joining[group])
            members.add(member)
        if self._layer is None:
            return
        try:
            if new:
                await self._join(new)
            for joining in pending:
                await asyncio.shield(joining)
        except BaseException:
            self._forget(groups, member)
            raise

    async def _join(self, groups: list[str]) -> None:
        loop = asyncio.get_running_loop()
        for group in groups:
            self._joining[group] = loop.create_future()
        try:
            await _group_add_all(self._layer, groups, await self._channel_name())
        except BaseException as error:
            for group in groups:
                # Everyone waiting on this join fails with it; start afresh.
                self._members.pop(group, None)
                joining = self._joining.pop(group)
                joining.set_exception(error)
                joining.exception()  # marked retrieved; waiters re-raise it
            raise
        for group in groups:
            self._joining.pop(group).set_result(None)
        # Everyone who wanted a group may have left while it was being joined.
        await self.discard([g for g in groups if not self._members.get(g)], None)

    async def discard(self, groups: list[str], member: Member | None) -> None:
        """Stop routing these groups to member; leave those no one here wants."""
        emptied = self._forget(groups, member)
        if emptied and self._channel is not None:
            await _group_discard_all(
                self._layer, emptied, self._channel, before=time.time()
            )

    def _forget(self, groups: list[str], member: Member | None) -> list[str]:
        emptied = []
        for group in groups:
            members = self._members.get(group)
            if members is None:
                continue
            members.discard(member)
            if not members and group not in self._joining:
                del self._members[group]
                emptied.append(group)
        return emptied

    async def refresh(self) -> None:
        """Re-add every membership (group expiry; a Redis that lost its data)."""
        if self._members and self._channel is not None:
            await _group_add_all(self._layer, list(self._members), self._channel)

    def refresh_soon(self) -> None:
        """Refresh from sync code, e.g. when a Redis connection came back."""
        if self._refreshing is None or self._refreshing.done():
            loop = asyncio.get_running_loop()
            self._refreshing = loop.create_task(self._refresh_logged())

    async def _refresh_logged(self) -> None:
        try:
            await self.refresh()
        except RedisError:
            logger.warning("could not re-add channel-layer groups", exc_info=True)

    def member_count(self, group: str) -> int:
        return len(self._members.get(group, ()))

    async def _channel_name(self) -> str:
        if self._channel is None:
            self._channel = await self._layer.new_channel()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())
        return self._channel

    async def _read(self) -> None:
        assert self._channel is not None
        delay = 0.1
        while True:
            try:
                message = await self._layer.receive(self._channel)
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the reader must outlive a Redis outage
                logger.warning("channel-layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECEIVE_RETRY_MAX)
                # Redis may have restarted empty: put the memberships back.
                self.refresh_soon()
                continue
            try:
                self._route(message)
            except Exception:  # noqa: BLE001 - one bad message must not stop routing
                logger.exception("could not route a channel-layer message")

    def _route(self, message: dict[str, Any]) -> None:
        group = message.get("group")
        if not isinstance(group, str):
            # A producer's raw group_send names the topic, not the group.
            topic = message.get("topic")
            if not isinstance(topic, str):
                logger.warning("dropped a message with no group or topic")
                return
            group = group_name(topic)
        for member in tuple(self._members.get(group, ())):
            member.on_group_message(message)


async def _group_add_all(layer: Any, groups: list[str], channel: str) -> None:
    if not isinstance(layer, RealtimeChannelLayer):  # the in-memory layer
        for group in groups:
            await layer.group_add(group, channel)
        return
    try:
        await layer.group_add_many(groups, channel)
    except RedisConnectionError:
        # After a Redis restart the pool still holds dead connections; the
        # failed one is dropped, so one more try gets a fresh connection.
        await layer.group_add_many(groups, channel)


async def _group_discard_all(
    layer: Any, groups: list[str], channel: str, *, before: float
) -> None:
    try:
        if isinstance(layer, RealtimeChannelLayer):
            await layer.group_discard_many(groups, channel, before=before)
        else:
            for group in groups:
                await layer.group_discard(group, channel)
    except RedisError:
        # Expiry removes the membership later; until then the inbox drops
        # messages for groups it no longer routes.
        logger.warning("could not leave %d groups", len(groups), exc_info=True)


# The inbox of the running event loop (one per server process in practice).
get_inbox = per_loop(lambda: ProcessInbox(get_channel_layer()))
