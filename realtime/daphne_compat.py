"""Patches that make daphne behave like a production WebSocket server.

1. Close code 1012 (service restart). Autobahn's public sendClose() accepts only
   1000 and 3000-4999, so daphne turns a `websocket.close` with code 1012 into
   an exception and an abnormal 1006 drop. RFC 6455's registry defines 1012 for
   exactly our use, so other codes go through autobahn's frame-level
   sendCloseFrame(), which daphne's own close path ends in as well.

2. Backpressure. daphne's ASGI `send` writes into Twisted's transport buffer and
   returns at once, so a client that stops reading makes that buffer grow
   without bound and the application never notices. A streaming producer on
   each WebSocket transport learns when Twisted's buffer passes its high-water
   mark (64 KiB); until it drains, `websocket.send` waits, like uvicorn's does.
   The waiting send lets the connection's bounded outbox fill, and the outbox
   then closes the slow reader with 4008.

3. Close codes on protocol errors. Autobahn's default (failByDrop) drops the TCP
   connection on an oversize message, invalid UTF-8 or a bad opcode; the client
   then sees 1006 and cannot tell why. With failByDrop off it gets 1009, 1007
   or 1002 first, like uvicorn's clients do.
"""

import asyncio
from typing import Any

APPLIED: set[str] = set()


def install() -> None:
    """Apply every patch once; a no-op when daphne is not installed."""
    allow_service_restart_close_code()
    apply_send_backpressure()
    send_close_codes_on_protocol_errors()


def send_close_codes_on_protocol_errors() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return
    # Autobahn copies factory options only onto instances lacking the attribute.
    WebSocketProtocol.failByDrop = False


def allow_service_restart_close_code() -> None:
    if "close_code" in APPLIED:
        return
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return

    original = WebSocketProtocol.serverClose

    def server_close(self: Any, code: int | None = None) -> None:
        if code is None or code == 1000 or 3000 <= code <= 4999:
            original(self, code=code)
        elif self.state == self.STATE_OPEN:
            self.sendCloseFrame(code=code, isReply=False)

    WebSocketProtocol.serverClose = server_close
    APPLIED.add("close_code")


class TransportWritable:
    """Twisted IPushProducer that tells sends to wait while the transport is full.

    Every socket has one, so it holds a flag and, only while a send waits, one
    future (an asyncio.Event would cost each idle socket a deque).
    """

    __slots__ = ("paused", "_resumed")

    def __init__(self) -> None:
        self.paused = False
        self._resumed: asyncio.Future[None] | None = None

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted interface
        self.paused = True

    def resumeProducing(self) -> None:  # noqa: N802 - Twisted interface
        self.paused = False
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(None)

    def stopProducing(self) -> None:  # noqa: N802 - Twisted interface
        self.resumeProducing()  # the connection is gone; let waiting sends return

    async def wait(self) -> None:
        """Return once the transport takes data again."""
        while self.paused:
            if self._resumed is None:
                self._resumed = asyncio.get_running_loop().create_future()
            # Shielded: one cancelled send must not cancel the others' wait.
            await asyncio.shield(self._resumed)


def apply_send_backpressure() -> None:
    if "backpressure" in APPLIED:
        return
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from zope.interface import classImplements
    except ImportError:
        return
    from twisted.internet.interfaces import IPushProducer

    classImplements(TransportWritable, IPushProducer)
    original_on_open = WebSocketProtocol.onOpen
    original_on_close = WebSocketProtocol.onClose
    original_handle_reply = Server.handle_reply

    def on_open(self: Any) -> None:
        writable = TransportWritable()
        transport = self.transport
        if hasattr(transport, "registerProducer"):
            # Twisted's HTTPChannel registered itself before the upgrade; it no
            # longer owns the connection, so the WebSocket's producer replaces it.
            if getattr(transport, "producer", None) is not None:
                transport.unregisterProducer()
            transport.registerProducer(writable, True)
            self.realtime_writable = writable
        original_on_open(self)

    def on_close(self: Any, was_clean: bool, code: int, reason: str) -> None:
        writable = getattr(self, "realtime_writable", None)
        if writable is not None:
            writable.stopProducing()
        original_on_close(self, was_clean, code, reason)

    async def handle_reply(self: Any, protocol: Any, message: dict[str, Any]) -> None:
        writable = getattr(protocol, "realtime_writable", None)
        if (
            writable is not None
            and writable.paused
            and message["type"] == "websocket.send"
        ):
            await writable.wait()
        await original_handle_reply(self, protocol, message)

    WebSocketProtocol.onOpen = on_open
    WebSocketProtocol.onClose = on_close
    Server.handle_reply = handle_reply
    APPLIED.add("backpressure")
