"""Per-connection outbound queue and inbound rate limit."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from realtime import metrics

logger = logging.getLogger(__name__)


class Outbox:
    """A bounded queue of text frames, written to the socket by one task.

    put() never blocks, so a slow reader cannot stall the hub or other
    connections; when more than `limit` frames or `max_chars` characters are
    waiting, on_overflow runs once and later frames are dropped (the connection
    is being closed). The socket's send must apply backpressure (uvicorn does;
    realtime.daphne_compat makes daphne do it) or the queue never fills.

    The writer task exists only while there is something to write: every idle
    socket has an outbox, so an idle one holds no task (docs/performance.md).
    """

    __slots__ = (
        "_send",
        "_limit",
        "_max_chars",
        "_count",
        "_chars",
        "_on_overflow",
        "_frames",
        "_overflowed",
        "_closed",
        "_task",
    )

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        *,
        limit: int,
        max_chars: int,
        on_overflow: Callable[[], None],
    ) -> None:
        self._send = send
        self._limit = limit
        self._max_chars = max_chars
        self._count = 0  # frames queued or in the batch being written
        self._chars = 0
        self._on_overflow = on_overflow
        self._frames: list[str] = []
        self._overflowed = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def put(self, frame: str) -> None:
        if self._closed:
            return
        if self._overflowed:
            metrics.FRAMES_DROPPED.inc()
            return
        if self._count >= self._limit or self._chars + len(frame) > self._max_chars:
            self._overflowed = True
            metrics.FRAMES_DROPPED.inc(self._count + 1)
            self._frames = []
            self._count = self._chars = 0
            self._on_overflow()
            return
        self._frames.append(frame)
        self._count += 1
        self._chars += len(frame)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._write())

    def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
        self._frames = []
        self._count = self._chars = 0

    async def _write(self) -> None:
        # Frames that pile up while a send is in progress go out back to back
        # in the next batch, which lets the server flush them together.
        try:
            while self._frames and not self._overflowed and not self._closed:
                batch, self._frames = self._frames, []
                for frame in batch:
                    if self._overflowed:
                        break
                    self._count -= 1
                    self._chars -= len(frame)
                    await self._send(frame)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the socket is gone; stop writing to it
            logger.debug("send failed; the outbox stops", exc_info=True)
            self._overflowed = True
            self._frames = []
        finally:
            self._task = None


class TokenBucket:
    """Allows `rate` actions per second on average and `burst` at once."""

    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
