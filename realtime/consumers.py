"""The multiplexed /ws/ consumer: a plain ASGI app, one coroutine per socket.

It authenticates from a socket token or the session cookie, then hands frames
to a ClientConnection. Channels' AsyncWebsocketConsumer with its session and auth
middleware would add, per socket, a consumer object, a channel-layer channel
with its own queue and receive task, and four copies of the scope, which more
than doubled idle memory per connection (docs/performance.md). Channel-layer
messages reach connections through the process inbox (realtime.inbox) instead.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from realtime import connection_limits, metrics, shutdown, socket_tokens, stats
from realtime.connection import ClientConnection
from realtime.hub import get_hub
from realtime.inbox import get_inbox
from realtime.principals import identify_socket
from realtime.protocol import (
    CLOSE_SESSION_ENDED,
    CLOSE_TOO_MANY_CONNECTIONS,
    encode,
)
from realtime.push import user_group
from realtime.socket_tokens import SocketIdentity

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
    identity = await identify_socket(scope)
    connection = _open(scope, identity, send)
    accepted = False
    try:
        await connection.join_identity_groups(_identity_groups(identity))
        await send({"type": "websocket.accept"})
        accepted = True
        metrics.CONNECTIONS_OPEN.inc()
        stats.ensure_reporter()
        shutdown.install()
        if not await _admit(connection, identity, send):
            return
        connection.log.debug("connection opened")
        connection.send(_welcome(connection, identity))
        del identity  # its token string need not live as long as the socket
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


def _open(scope: Scope, identity: SocketIdentity, send: Send) -> ClientConnection:
    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    async def close(code: int) -> None:
        try:
            await send({"type": "websocket.close", "code": code})
        except Exception:  # noqa: BLE001 - the socket is gone already
            return

    client = scope.get("client")
    return ClientConnection(
        identity=identity,
        hub=get_hub(),
        inbox=get_inbox(),
        send_text=send_text,
        close=close,
        ip=client[0] if client else None,
    )


def _identity_groups(identity: SocketIdentity) -> list[str]:
    """Groups through which logout or deactivation closes this socket."""
    user_id = identity.principal.user_id
    if user_id is None:
        return []
    groups = [user_group(user_id)]
    if identity.session_group:
        groups.append(identity.session_group)
    return groups


async def _admit(
    connection: ClientConnection, identity: SocketIdentity, send: Send
) -> bool:
    """Apply the connection limits and token revocations; refuse with an error."""
    over = await connection_limits.admit(
        connection.id,
        connection.principal.user_id,
        connection.ip,
        revocations=socket_tokens.revocation_keys(identity),
        authenticated_ms=identity.authenticated_ms,
    )
    if over is None:
        return True
    connection.admitted = False
    if over == "revoked":
        code, close_code = "session_ended", CLOSE_SESSION_ENDED
        message = "this socket token was revoked (logout); reconnect without it"
    else:
        code, close_code = "too_many_connections", CLOSE_TOO_MANY_CONNECTIONS
        message = f"too many connections for this {over}"
    refusal = {"type": "error", "code": code, "message": message}
    await send({"type": "websocket.send", "text": encode(refusal)})
    await send({"type": "websocket.close", "code": close_code})
    return False


def _welcome(connection: ClientConnection, identity: SocketIdentity) -> str:
    principal = connection.principal
    user = {
        "id": principal.user_id,
        "name": principal.name,
        "guest": principal.is_guest,
    }
    frame = {
        "type": "welcome",
        "connection": connection.id,
        "user": user,
        # A reconnect's token is handed back as it is: it is not renewed here.
        "token": identity.token or connection.new_token(),
    }
    return encode(frame)


async def _close(connection: ClientConnection, accepted: bool) -> None:
    """Leave every topic and group; release the connection-limit slot."""
    if accepted:
        metrics.CONNECTIONS_OPEN.dec()
    await connection.shutdown()
    if connection.admitted and accepted:
        await connection_limits.release(
            connection.id, connection.principal.user_id, connection.ip
        )
