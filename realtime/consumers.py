"""The multiplexed /ws/ consumer: a plain ASGI app, one coroutine per socket.

It authenticates from the session cookie, then hands frames to a
ClientConnection. Channels' AsyncWebsocketConsumer with its session and auth
middleware would add, per socket, a consumer object, a channel-layer channel
with its own queue and receive task, and four copies of the scope, which more
than doubled idle memory per connection (docs/performance.md). Channel-layer
messages reach connections through the process inbox (realtime.inbox) instead.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from realtime import connection_limits, metrics, shutdown, stats
from realtime.connection import ClientConnection
from realtime.hub import get_hub
from realtime.inbox import get_inbox
from realtime.principals import principal_for_socket
from realtime.protocol import CLOSE_TOO_MANY_CONNECTIONS, encode
from realtime.push import session_group, user_group
from realtime.topics import Principal

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

WEBSOCKET_PATH = "/ws/"


Scope = dict[str, Any]


async def realtime_consumer(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one WebSocket from handshake to disconnect."""
    if (await receive())["type"] != "websocket.connect":
        return
    if scope.get("path") != WEBSOCKET_PATH:
        await send({"type": "websocket.close"})  # refused: HTTP 403
        return
    principal, session_key = await principal_for_socket(scope)
    connection = _open(scope, principal, send)
    accepted = False
    try:
        await connection.join_identity_groups(_identity_groups(principal, session_key))
        await send({"type": "websocket.accept"})
        accepted = True
        metrics.CONNECTIONS_OPEN.inc()
        stats.ensure_reporter()
        shutdown.install()
        if not await _admit(connection, send):
            return
        connection.log.debug("connection opened")
        connection.send(_welcome(connection))
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                if text is None:
                    connection.handle_binary()
                else:
                    await connection.handle_text(text)
            elif message["type"] == "websocket.disconnect":
                connection.log.debug("connection closed (code %s)", message.get("code"))
                return
    finally:
        await _close(connection, accepted)


def _open(scope: Scope, principal: Principal, send: Send) -> ClientConnection:
    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    async def close(code: int) -> None:
        try:
            await send({"type": "websocket.close", "code": code})
        except Exception:  # noqa: BLE001 - the socket is gone already
            return

    client = scope.get("client")
    return ClientConnection(
        principal=principal,
        hub=get_hub(),
        inbox=get_inbox(),
        send_text=send_text,
        close=close,
        ip=client[0] if client else None,
    )


def _identity_groups(principal: Principal, session_key: str | None) -> list[str]:
    """Groups through which logout or deactivation closes this socket."""
    if principal.user_id is None:
        return []
    groups = [user_group(principal.user_id)]
    if session_key:
        groups.append(session_group(session_key))
    return groups


async def _admit(connection: ClientConnection, send: Send) -> bool:
    """Apply the per-user and per-IP connection limits; refuse with an error."""
    over = await connection_limits.admit(
        connection.id, connection.principal.user_id, connection.ip
    )
    if over is None:
        return True
    connection.admitted = False
    refusal = {
        "type": "error",
        "code": "too_many_connections",
        "message": f"too many connections for this {over}",
    }
    await send({"type": "websocket.send", "text": encode(refusal)})
    await send({"type": "websocket.close", "code": CLOSE_TOO_MANY_CONNECTIONS})
    return False


def _welcome(connection: ClientConnection) -> str:
    principal = connection.principal
    user = {
        "id": principal.user_id,
        "name": principal.name,
        "guest": principal.is_guest,
    }
    return encode({"type": "welcome", "connection": connection.id, "user": user})


async def _close(connection: ClientConnection, accepted: bool) -> None:
    """Leave every topic and group; release the connection-limit slot."""
    if accepted:
        metrics.CONNECTIONS_OPEN.dec()
    await connection.shutdown()
    if connection.admitted and accepted:
        await connection_limits.release(
            connection.id, connection.principal.user_id, connection.ip
        )
