"""One client connection's protocol state, independent of Channels.

The consumer hands every inbound frame to ClientConnection.handle_text and the
hub hands every outbound event to deliver(); all replies and events leave
through one Outbox, so a `subscribed` reply always precedes its replayed events.
"""

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from realtime import history, liveness, metrics, presence, socket_tokens, topics
from realtime.hub import Hub
from realtime.inbox import ProcessInbox
from realtime.outbox import Outbox, TokenBucket
from realtime.protocol import (
    CLOSE_SESSION_ENDED,
    CLOSE_SLOW_CONSUMER,
    ClientFrame,
    ProtocolError,
    Since,
    encode,
    error_frame,
    parse_client_frame,
    reply_frame,
)
from realtime.push import group_name
from realtime.socket_tokens import SocketIdentity
from realtime.topics import Principal

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Subscription:
    topic: str
    kind: topics.TopicKind
    epoch: str = ""
    last_offset: int = 0
    # While a subscribe is replaying history, live frames wait here.
    held: list[tuple[int, str, str]] | None = field(default_factory=list)


class ClientConnection:
    """Protocol state of one WebSocket: subscriptions, offsets, limits."""

    # Every idle socket holds one: slots keep it small (docs/performance.md).
    __slots__ = (
        "id",
        "ip",
        "admitted",
        "last_seen",
        "_identity",
        "_token_issued_ms",
        "_hub",
        "_close",
        "_inbox",
        "_identity_groups",
        "_subscriptions",
        "_bucket",
        "_outbox",
        "_closed",
        "_tasks",
    )

    def __init__(
        self,
        *,
        identity: SocketIdentity,
        hub: Hub,
        send_text: Callable[[str], Awaitable[None]],
        close: Callable[[int], Coroutine[Any, Any, None]],
        inbox: ProcessInbox | None = None,
        ip: str | None = None,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.ip = ip
        # False when the connection limits refused it (nothing to release).
        self.admitted = True
        # Who connected, without the token string (kept to renew tokens).
        self._identity = replace(identity, token=None)
        self._token_issued_ms = identity.token_issued_ms
        self._hub = hub
        self._close = close
        self._inbox = inbox
        self._identity_groups: list[str] = []
        self._subscriptions: dict[str, Subscription] = {}
        self._bucket = TokenBucket(
            settings.REALTIME_CLIENT_RATE, settings.REALTIME_CLIENT_BURST
        )
        self._outbox = Outbox(
            send_text,
            limit=settings.REALTIME_OUTBOX_LIMIT,
            max_chars=settings.REALTIME_OUTBOX_BYTES,
            on_overflow=self._overflow,
        )
        self._closed = False
        self._tasks: set[asyncio.Task[None]] | None = None  # made when needed
        self.last_seen = time.monotonic()
        liveness.reaper().watch(self)

    # --- inbound ---------------------------------------------------------------

    async def handle_text(self, text: str) -> None:
        """Handle one client text frame; every failure becomes an error frame."""
        ref: str | int | None = None
        self.last_seen = time.monotonic()
        try:
            if not self._bucket.allow():
                raise ProtocolError("rate_limited", "too many frames; slow down")
            if len(text) * 4 > settings.REALTIME_MAX_FRAME_BYTES and (
                len(text.encode("utf-8", "surrogatepass"))
                > settings.REALTIME_MAX_FRAME_BYTES
            ):
                raise ProtocolError(
                    "too_large",
                    f"frame exceeds {settings.REALTIME_MAX_FRAME_BYTES} bytes",
                )
            frame = parse_client_frame(
                text, max_history=settings.REALTIME_MAX_HISTORY_REQUEST
            )
            ref = frame.ref
            await self._dispatch(frame)
        except ProtocolError as error:
            self.send(error_frame(error, ref))
        except (RedisError, DatabaseError):
            self.log.warning("backend unavailable", exc_info=True)
            self.send(
                error_frame(ProtocolError("unavailable", "try again shortly"), ref)
            )
        except Exception:
            self.log.exception("frame handler failed")
            self.send(error_frame(ProtocolError("internal", "server error"), ref))

    def handle_binary(self) -> None:
        self.last_seen = time.monotonic()
        self.send(
            error_frame(ProtocolError("bad_frame", "binary frames are not supported"))
        )

    async def _dispatch(self, frame: ClientFrame) -> None:
        if frame.type == "ping":
            token = self._renewed_token()
            extra = {"token": token} if token else {}
            self.send(reply_frame("pong", frame.ref, **extra))
        elif frame.type == "subscribe":
            await self.subscribe(frame)
        elif frame.type == "unsubscribe":
            await self.unsubscribe(frame)
        elif frame.type == "publish":
            await self.publish(frame)
        elif frame.type == "presence":
            await self.presence(frame)

    async def subscribe(self, frame: ClientFrame) -> None:
        assert frame.topic is not None
        topic = frame.topic
        kind, match = topics.resolve(topic)
        if topic in self._subscriptions:
            raise ProtocolError("bad_frame", "already subscribed", topic=topic)
        if len(self._subscriptions) >= settings.REALTIME_MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                "too_many_subscriptions",
                f"at most {settings.REALTIME_MAX_SUBSCRIPTIONS} subscriptions",
                topic=topic,
            )
        if not await kind.can_subscribe(self.principal, match):
            raise ProtocolError("forbidden", "not allowed to subscribe", topic=topic)
        sub = Subscription(topic=topic, kind=kind)
        self._subscriptions[topic] = sub
        try:
            await self._hub.join(topic, self)
            await self._join_groups([group_name(topic)])
            reply, replay = await self._catch_up(sub, frame)
        except BaseException:
            self._subscriptions.pop(topic, None)
            await self._hub.leave(topic, self)
            await self._leave_groups([group_name(topic)])
            raise
        metrics.SUBSCRIPTIONS.inc()
        self.send(reply)
        for entry in replay:
            self.send(entry.frame)
        self._release_held(sub)
        if kind.presence:
            await presence.join(topic, self)

    async def _catch_up(
        self, sub: Subscription, frame: ClientFrame
    ) -> tuple[str, list[history.Entry]]:
        """The `subscribed` reply and the history to replay before live events."""
        result = await history.catch_up(
            sub.topic, sub.kind, since=frame.since, last=frame.history
        )
        sub.epoch, sub.last_offset = result.position.epoch, result.position.offset
        fields: dict[str, Any] = {"topic": sub.topic}
        if result.recovered is not None:
            fields["recovered"] = result.recovered
        fields.update(offset=sub.last_offset, epoch=sub.epoch)
        return reply_frame("subscribed", frame.ref, **fields), result.replay

    async def unsubscribe(self, frame: ClientFrame) -> None:
        assert frame.topic is not None
        if frame.topic not in self._subscriptions:
            raise ProtocolError("not_subscribed", "not subscribed", topic=frame.topic)
        await self._drop(frame.topic)
        self.send(reply_frame("unsubscribed", frame.ref, topic=frame.topic))

    async def _drop(self, topic: str) -> None:
        sub = self._subscriptions.pop(topic)
        metrics.SUBSCRIPTIONS.dec()
        await self._hub.leave(topic, self)
        await self._leave_groups([group_name(topic)])
        if sub.kind.presence:
            await presence.leave(topic, self)

    async def publish(self, frame: ClientFrame) -> None:
        assert frame.topic is not None and frame.event is not None
        kind, match = topics.resolve(frame.topic)
        if kind.on_publish is None:
            raise ProtocolError(
                "forbidden", "clients may not publish here", topic=frame.topic
            )
        request = topics.PublishRequest(
            principal=self.principal,
            connection_id=self.id,
            topic=frame.topic,
            match=match,
            event=frame.event,
            data=frame.data,
        )
        extra = await kind.on_publish(request) or {}
        self.send(reply_frame("ack", frame.ref, topic=frame.topic, **extra))

    async def presence(self, frame: ClientFrame) -> None:
        assert frame.topic is not None
        sub = self._subscriptions.get(frame.topic)
        if sub is None:
            raise ProtocolError("not_subscribed", "subscribe first", topic=frame.topic)
        if not sub.kind.presence:
            raise ProtocolError(
                "bad_topic", "this topic has no presence", topic=frame.topic
            )
        members = await presence.members(frame.topic)
        self.send(
            reply_frame("presence", frame.ref, topic=frame.topic, members=members)
        )

    async def revoke(self, topic: str, *, user_id: int) -> None:
        """Drop the subscription if this connection belongs to that user."""
        if self.principal.user_id != user_id or topic not in self._subscriptions:
            return
        await self._drop(topic)
        error = ProtocolError("forbidden", "access to this topic ended", topic=topic)
        self.send(error_frame(error))

    # --- socket tokens -------------------------------------------------------------

    def new_token(self) -> str:
        """A fresh socket token for the identity this socket connected with."""
        self._token_issued_ms = int(time.time() * 1000)
        return socket_tokens.issue(self._identity)

    def _renewed_token(self) -> str | None:
        """A fresh token once the last one is half-way to expiry, else None."""
        half_life_ms = settings.REALTIME_SOCKET_TOKEN_TTL * 500
        if time.time() * 1000 - self._token_issued_ms < half_life_ms:
            return None
        return self.new_token()

    # --- channel-layer groups ----------------------------------------------------

    async def join_identity_groups(self, groups: list[str]) -> None:
        """Groups through which another process can close this socket (logout)."""
        self._identity_groups = groups
        await self._join_groups(groups)

    async def _join_groups(self, groups: list[str]) -> None:
        if self._inbox is not None and groups:
            await self._inbox.add(groups, self)

    async def _leave_groups(self, groups: list[str]) -> None:
        if self._inbox is not None and groups:
            await self._inbox.discard(groups, self)

    def on_group_message(self, message: dict[str, Any]) -> None:
        """A channel-layer message for a group this connection is in."""
        kind = message.get("type")
        if kind == "realtime.event":
            self._raw_event(message)
        elif kind == "realtime.revoke":
            topic, user_id = message.get("topic"), message.get("user_id")
            if isinstance(topic, str) and isinstance(user_id, int):
                self._spawn(self.revoke(topic, user_id=user_id))
        elif kind == "realtime.close":
            self.close_soon(int(message.get("code", CLOSE_SESSION_ENDED)))
        else:
            self.log.warning("ignored a channel-layer message of type %r", kind)

    def _raw_event(self, message: dict[str, Any]) -> None:
        """A raw group_send to a topic's group, passed on without offset.

        Only fields we name are copied: a producer's `type` is never echoed.
        """
        topic = message.get("topic")
        if not isinstance(topic, str) or topic not in self._subscriptions:
            return
        frame = {
            "type": "event",
            "topic": topic,
            "event": str(message.get("event", "message")),
            "data": message.get("data"),
            "ts": message.get("ts"),
        }
        self.send(encode(frame))

    # --- outbound --------------------------------------------------------------

    def send(self, frame: str) -> None:
        self._outbox.put(frame)

    def deliver(self, topic: str, offset: int, epoch: str, frame: str) -> None:
        """Queue a live event, dropping what the client already has."""
        sub = self._subscriptions.get(topic)
        if sub is None:
            return
        if sub.held is not None:
            sub.held.append((offset, epoch, frame))
            return
        if offset:
            if epoch == sub.epoch and offset <= sub.last_offset:
                return
            sub.epoch, sub.last_offset = epoch, offset
        self._outbox.put(frame)

    def lagged(self, topic: str) -> None:
        """Live events may have been missed: refill them from history."""
        sub = self._subscriptions.get(topic)
        if sub is None or sub.held is not None:
            return  # not subscribed, or a catch-up is already running
        sub.held = []
        self._spawn(self._refill(sub))

    async def _refill(self, sub: Subscription) -> None:
        """Replay what history holds after the last offset sent, then resume live.

        When history cannot cover the gap the client gets a `lagged` error for
        the topic and resubscribes with `since` (and learns recovered: false).
        """
        since = Since(offset=sub.last_offset, epoch=sub.epoch)
        try:
            result = await history.catch_up(sub.topic, sub.kind, since=since, last=0)
        except RedisError:
            result = None
        if result is not None and result.recovered:
            metrics.LAGGED_RECOVERED.inc()
            for entry in result.replay:
                self._outbox.put(entry.frame)
            sub.last_offset = result.position.offset
        else:
            metrics.LAGGED_UNRECOVERABLE.inc()
            error = ProtocolError("lagged", "events were missed", topic=sub.topic)
            self._outbox.put(error_frame(error))
        self._release_held(sub)

    def _release_held(self, sub: Subscription) -> None:
        """Deliver the live frames that waited while history was replayed."""
        held, sub.held = sub.held or [], None
        for offset, epoch, frame in held:
            self.deliver(sub.topic, offset, epoch, frame)

    def _overflow(self) -> None:
        self.log.warning("slow reader; closing")
        metrics.SLOW_CONSUMER_CLOSES.inc()
        self.close_soon(CLOSE_SLOW_CONSUMER)

    async def close_now(self, code: int) -> None:
        await self._close(code)

    def close_soon(self, code: int) -> None:
        """Close the socket with a close code, from sync code."""
        self._spawn(self._close(code))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- lifecycle ---------------------------------------------------------------

    @property
    def log(self) -> "logging.LoggerAdapter[logging.Logger]":
        """A logger whose records carry this connection's id, user and IP."""
        extra = {"connection": self.id, "user": self.principal.user_id, "ip": self.ip}
        return logging.LoggerAdapter(logger, extra)

    @property
    def principal(self) -> Principal:
        return self._identity.principal

    @property
    def user_id(self) -> int | None:
        return self.principal.user_id

    def subscribed_topics(self) -> list[str]:
        return list(self._subscriptions)

    async def shutdown(self) -> None:
        """Leave every topic; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        liveness.reaper().forget(self)
        self._outbox.close()
        for task in list(self._tasks or ()):
            task.cancel()
        for topic in list(self._subscriptions):
            try:
                await self._drop(topic)
            except RedisError:
                self.log.warning("cleanup of %s failed", topic)
        await self._leave_groups(self._identity_groups)
