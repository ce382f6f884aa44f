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
    """Twisted IPushProducer whose event is set while the transport can take data."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.event.set()

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted interface
        self.event.clear()

    def resumeProducing(self) -> None:  # noqa: N802 - Twisted interface
        self.event.set()

    def stopProducing(self) -> None:  # noqa: N802 - Twisted interface
        self.event.set()  # the connection is gone; let waiting sends return


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
            writable.event.set()
        original_on_close(self, was_clean, code, reason)

    async def handle_reply(self: Any, protocol: Any, message: dict[str, Any]) -> None:
        writable = getattr(protocol, "realtime_writable", None)
        if (
            writable is not None
            and not writable.event.is_set()
            and message["type"] == "websocket.send"
        ):
            await writable.event.wait()
        await original_handle_reply(self, protocol, message)

    WebSocketProtocol.onOpen = on_open
    WebSocketProtocol.onClose = on_close
    Server.handle_reply = handle_reply
    APPLIED.add("backpressure")
