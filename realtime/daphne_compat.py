"""Let daphne send close code 1012 (service restart).

Autobahn's public sendClose() accepts only 1000 and 3000-4999, so daphne turns a
`websocket.close` with code 1012 into an exception and an abnormal 1006 drop.
RFC 6455's registry defines 1012 for exactly our use (a server restarting), and
browsers handle it, so codes outside that range go through autobahn's frame
level sendCloseFrame(), which daphne's own close path ends in as well.
"""

from typing import Any

APPLIED = False


def allow_service_restart_close_code() -> None:
    """Patch daphne's WebSocketProtocol.serverClose once; no-op without daphne."""
    global APPLIED
    if APPLIED:
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
    APPLIED = True
