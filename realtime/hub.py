"""The per-process fan-out hub: one Redis pub/sub subscription per topic.

Each server process holds one Hub per event loop, with one ShardHub (one pub/sub
connection) per Redis shard; a topic is subscribed on the shard that holds it.
A connection that subscribes to a topic registers a Listener here; the hub
subscribes to the topic's Redis channel once, however many local connections
want it, and hands every frame that arrives to each local listener as the same
pre-encoded text. No channel queue, thread hop or JSON encode per recipient.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from realtime import metrics, redis_client
from realtime.inbox import get_inbox
from realtime.loops import per_loop
from realtime.push import channel_name

logger = logging.getLogger(__name__)

RECONNECT_DELAY_MAX = 2.0


class Listener(Protocol):
    def deliver(self, topic: str, offset: int, epoch: str, frame: str) -> None:
        """Take one frame; must not block (queue it and return)."""

    def lagged(self, topic: str) -> None:
        """Frames for this topic may have been missed; refill them from history."""


class _WatchedPubSub(PubSub):
    """A PubSub that reports every re-established connection.

    redis-py reconnects and resubscribes by itself after a dropped connection,
    without raising: messages published in the gap are silently gone. The hub
    must know, so its listeners can refill from history.
    """

    def __init__(self, *args: Any, on_reconnect: Callable[[], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._on_reconnect = on_reconnect

    async def on_connect(self, connection: Any) -> None:
        # Called only when a connection that already had subscriptions is
        # re-established (the first connection is opened before registering).
        had_channels = bool(self.channels)
        await super().on_connect(connection)
        if had_channels:
            self._on_reconnect()


class ShardHub:
    """Routes frames from one Redis shard's pub/sub to this process's listeners."""

    def __init__(self, redis_url: str) -> None:
        pool = redis_client.connection_pool(
            aioredis,
            redis_url,
            socket_timeout=None,
            socket_connect_timeout=2,
            client_name=f"{settings.REALTIME_REDIS_PREFIX}:hub",
        )
        self._client = aioredis.Redis(connection_pool=pool)
        self._pubsub = _WatchedPubSub(
            connection_pool=self._client.connection_pool,
            on_reconnect=self._reconnected,
        )
        self._listeners: dict[str, set[Listener]] = {}
        self._topic_of_channel: dict[bytes, str] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        # redis-py's PubSub opens its connection lazily on the first command; two
        # tasks subscribing at once could each open one, and the reader would
        # listen on only one of them. Commands therefore go one at a time.
        self._command_lock = asyncio.Lock()

    async def join(self, topic: str, listener: Listener) -> None:
        """Start routing a topic's frames to listener; returns once Redis confirms.

        After join returns, every frame published on the topic reaches the
        listener, so history read afterwards cannot leave a gap.
        """
        listeners = self._listeners.get(topic)
        if listeners is None:
            listeners = self._listeners[topic] = set()
            channel = channel_name(topic)
            self._topic_of_channel[channel.encode()] = topic
            self._ready[topic] = asyncio.get_running_loop().create_future()
            try:
                async with self._command_lock:
                    await self._pubsub.subscribe(channel)
            except BaseException:
                self._forget(topic)
                raise
            self._ensure_reader()
        listeners.add(listener)
        pending = self._ready.get(topic)
        if pending is not None:
            try:
                await asyncio.wait_for(asyncio.shield(pending), timeout=10)
            except BaseException:
                await self.leave(topic, listener)
                raise

    async def leave(self, topic: str, listener: Listener) -> None:
        """Stop routing a topic to listener; unsubscribe when no one is left."""
        listeners = self._listeners.get(topic)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            self._forget(topic)
            try:
                async with self._command_lock:
                    await self._pubsub.unsubscribe(channel_name(topic))
            except RedisError:
                # The connection is gone; it will not resubscribe to a channel
                # it no longer tracks, so there is nothing left to undo.
                logger.warning("unsubscribe from %s failed", topic, exc_info=True)

    def _forget(self, topic: str) -> None:
        self._listeners.pop(topic, None)
        self._topic_of_channel.pop(channel_name(topic).encode(), None)
        ready = self._ready.pop(topic, None)
        if ready is not None and not ready.done():
            ready.cancel()

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        delay = 0.1
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the reader must outlive any fault
                logger.warning("pub/sub connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_DELAY_MAX)
                continue
            if message is not None:
                try:
                    self._route(message)
                except Exception:  # noqa: BLE001 - one bad payload must not stop routing
                    logger.exception("could not route a pub/sub message")

    def _route(self, message: dict[str, object]) -> None:
        kind = message["type"]
        channel = message["channel"]
        assert isinstance(channel, bytes)
        topic = self._topic_of_channel.get(channel)
        if topic is None:
            return
        if kind == "subscribe":
            ready = self._ready.pop(topic, None)
            if ready is not None and not ready.done():
                ready.set_result(None)
            return
        if kind != "message":
            return
        payload = message["data"]
        assert isinstance(payload, bytes)
        # "<offset>:<epoch>:<published ms>\n<frame>" (see push.PUBLISH_SCRIPT)
        header, _, frame_bytes = payload.partition(b"\n")
        offset_text, epoch, published_ms = header.split(b":", 2)
        frame = frame_bytes.decode()
        offset = int(offset_text)
        epoch_text = epoch.decode()
        listeners = tuple(self._listeners.get(topic, ()))
        for listener in listeners:
            listener.deliver(topic, offset, epoch_text, frame)
        metrics.FRAMES_DELIVERED.inc(len(listeners))
        metrics.DELIVERY_LATENCY.observe(
            max(0.0, time.time() - int(published_ms) / 1000)
        )

    def _reconnected(self) -> None:
        logger.warning("pub/sub connection re-established; listeners refill")
        metrics.PUBSUB_RECONNECTS.inc()
        # The shard may have restarted empty; its channel-layer groups too.
        get_inbox().refresh_soon()
        for topic, listeners in self._listeners.items():
            for listener in tuple(listeners):
                listener.lagged(topic)


class Hub:
    """The process's hub: sends each topic to the ShardHub of its shard."""

    def __init__(self, shard_urls: list[str]) -> None:
        self._shards = {url: ShardHub(url) for url in shard_urls}

    async def join(self, topic: str, listener: Listener) -> None:
        """Start routing a topic's frames to listener; see ShardHub.join."""
        await self._shards[redis_client.shard_url(topic)].join(topic, listener)

    async def leave(self, topic: str, listener: Listener) -> None:
        """Stop routing a topic to listener."""
        await self._shards[redis_client.shard_url(topic)].leave(topic, listener)


# The hub of the running event loop (one per server process in practice).
get_hub = per_loop(lambda: Hub(settings.REDIS_SHARD_URLS))
