"""ASGI middleware for the WebSocket stack."""

from typing import Any

SERVER_SEND = "realtime.server_send"


class ServerSendInScope:
    """Puts the server's own `send` in the scope as scope["realtime.server_send"].

    The consumer writes event frames with it, past channels' session and auth
    wrappers: the session wrapper inspects the session on every message
    (about an eighth of fan-out time under uvicorn) but only acts on HTTP
    responses, never on `websocket.send`.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await self.inner({**scope, SERVER_SEND: send}, receive, send)
