"""Graceful shutdown: on SIGTERM every socket is closed with 1012 (service
restart) before the server stops, so clients reconnect with backoff and recover
instead of seeing an abnormal 1006.

The handler wraps whatever SIGTERM handler the server (daphne's Twisted reactor,
or uvicorn) installed, and calls it once the sockets are closed.
"""

import asyncio
import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

from realtime import liveness
from realtime.protocol import CLOSE_SERVICE_RESTART

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.3
_installed = False


async def close_all(code: int) -> int:
    """Close every connection of this process with `code`; returns how many."""
    connections = liveness.reaper().connections()
    await asyncio.gather(
        *(c.close_now(code) for c in connections), return_exceptions=True
    )
    return len(connections)


def install() -> None:
    """Install the SIGTERM handler once, from the main thread's running loop."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    loop = asyncio.get_running_loop()
    previous: Any = signal.getsignal(signal.SIGTERM)

    def hand_over(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, previous)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    async def close_then_stop(signum: int, frame: FrameType | None) -> None:
        try:
            closed = await asyncio.wait_for(close_all(CLOSE_SERVICE_RESTART), 5)
            logger.warning("SIGTERM: closed %d connections with 1012", closed)
            await asyncio.sleep(FLUSH_SECONDS)
        finally:
            hand_over(signum, frame)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(
            lambda: loop.create_task(close_then_stop(signum, frame))
        )

    signal.signal(signal.SIGTERM, on_sigterm)
