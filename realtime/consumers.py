"""The multiplexed /ws/ consumer: authenticates, hands frames to ClientConnection."""

from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import ConnectionError as RedisConnectionError

from realtime import connection_limits, metrics, shutdown, stats
from realtime.connection import ClientConnection, GroupMembership
from realtime.hub import get_hub
from realtime.layers import RealtimeChannelLayer
from realtime.middleware import SERVER_SEND
from realtime.principals import principal_from_scope
from realtime.protocol import CLOSE_TOO_MANY_CONNECTIONS, encode
from realtime.push import group_name, session_group, user_group
from realtime.topics import Principal


class ChannelLayerGroups(GroupMembership):
    """Joins each subscribed topic's channel-layer group, so group_send reaches it."""

    def __init__(self, consumer: "RealtimeConsumer") -> None:
        self._consumer = consumer

    async def add(self, topic: str) -> None:
        await self.add_groups([group_name(topic)])

    async def refresh(self, topics: list[str]) -> None:
        groups = getattr(self._consumer, "identity_groups", [])
        await self.add_groups([*groups, *(group_name(topic) for topic in topics)])

    async def add_groups(self, groups: list[str]) -> None:
        """Join channel-layer groups in one round trip per Redis shard."""
        layer = self._consumer.channel_layer
        if layer is None or not groups:
            return
        channel = self._consumer.channel_name
        try:
            await _group_add_all(layer, groups, channel)
        except RedisConnectionError:
            # After a Redis restart the pool still holds dead connections; the
            # failed one is dropped, so one more try gets a fresh connection.
            await _group_add_all(layer, groups, channel)

    async def discard(self, topic: str) -> None:
        if self._consumer.channel_layer is not None:
            await self._consumer.channel_layer.group_discard(
                group_name(topic), self._consumer.channel_name
            )


async def _group_add_all(layer: Any, groups: list[str], channel: str) -> None:
    if isinstance(layer, RealtimeChannelLayer):
        await layer.group_add_many(groups, channel)
    else:  # the in-memory layer of unit tests
        for group in groups:
            await layer.group_add(group, channel)


class RealtimeConsumer(AsyncWebsocketConsumer):
    connection: ClientConnection

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Route a message to its handler without the per-message thread hop.

        AsyncConsumer.dispatch runs aclose_old_connections (a sync_to_async hop)
        before every message; this consumer never touches the ORM on the event
        loop (handlers use database_sync_to_async, which does that cleanup
        itself), so the hop would only cost time on every frame.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self._server_send = self.scope.get(SERVER_SEND, self.base_send)
        principal: Principal = await principal_from_scope(self.scope)
        await self._join_identity_groups(principal)
        await self.accept()
        metrics.CONNECTIONS_OPEN.inc()
        stats.ensure_reporter()
        shutdown.install()
        client = self.scope.get("client")
        self.connection = ClientConnection(
            principal=principal,
            hub=get_hub(),
            send_text=self._send_text,
            close=self._close_with,
            groups=ChannelLayerGroups(self),
            ip=client[0] if client else None,
        )
        over = await connection_limits.admit(
            self.connection.id, principal.user_id, self.connection.ip
        )
        if over is not None:
            self.connection.admitted = False
            refusal = {
                "type": "error",
                "code": "too_many_connections",
                "message": f"too many connections for this {over}",
            }
            await self.send(text_data=encode(refusal))
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        self.connection.log.debug("connection opened")
        self.connection.send(
            encode(
                {
                    "type": "welcome",
                    "connection": self.connection.id,
                    "user": {
                        "id": principal.user_id,
                        "name": principal.name,
                        "guest": principal.is_guest,
                    },
                }
            )
        )

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if text_data is None:
            self.connection.handle_binary()
            return
        await self.connection.handle_text(text_data)

    async def disconnect(self, code: int) -> None:
        connection = getattr(self, "connection", None)
        if connection is not None:
            connection.log.debug("connection closed (code %s)", code)
            metrics.CONNECTIONS_OPEN.dec()
            await connection.shutdown()
            if connection.admitted:
                await connection_limits.release(
                    connection.id, connection.principal.user_id, connection.ip
                )
        if self.channel_layer is not None:
            for group in getattr(self, "identity_groups", []):
                await self.channel_layer.group_discard(group, self.channel_name)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        """A raw channel-layer group_send to a topic's group, passed to the client.

        Only fields we name are copied: a producer's `type` is never echoed.
        """
        topic = message.get("topic")
        if (
            not isinstance(topic, str)
            or topic not in self.connection.subscribed_topics()
        ):
            return
        frame = {
            "type": "event",
            "topic": topic,
            "event": str(message.get("event", "message")),
            "data": message.get("data"),
            "ts": message.get("ts"),
        }
        self.connection.send(encode(frame))

    async def realtime_revoke(self, message: dict[str, Any]) -> None:
        """A user lost access to a topic: drop their subscription to it."""
        topic, user_id = message.get("topic"), message.get("user_id")
        if isinstance(topic, str) and isinstance(user_id, int):
            await self.connection.revoke(topic, user_id=user_id)

    async def realtime_close(self, message: dict[str, Any]) -> None:
        """Close this socket on request from another process (e.g. logout)."""
        await self._close_with(int(message.get("code", 4001)))

    async def _join_identity_groups(self, principal: Principal) -> None:
        """Groups through which logout or deactivation closes this socket."""
        self.identity_groups: list[str] = []
        if self.channel_layer is None or principal.user_id is None:
            return
        self.identity_groups.append(user_group(principal.user_id))
        session = self.scope.get("session")
        if session is not None and session.session_key:
            self.identity_groups.append(session_group(session.session_key))
        await ChannelLayerGroups(self).add_groups(self.identity_groups)

    async def _send_text(self, text: str) -> None:
        # Every event frame passes here, so it goes straight to the server's
        # send (see realtime.middleware.ServerSendInScope).
        await self._server_send({"type": "websocket.send", "text": text})

    async def _close_with(self, code: int) -> None:
        await self.close(code=code)
