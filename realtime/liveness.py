"""Idle timeout and periodic refreshes of what a live connection holds in Redis.

Browsers ping every 25 s (static/realtime/client.js), so a connection silent
for REALTIME_IDLE_TIMEOUT seconds is dead or stuck (a laptop lid, a dropped
NAT mapping); closing it frees its subscriptions and presence entries.

channels-redis forgets a group member after `group_expiry` (a day by default)
even when its process is alive, so the process inbox's memberships are re-added
at a quarter of that period.
"""

import asyncio
import logging
import time
from typing import Protocol

from django.conf import settings
from redis.exceptions import RedisError

from realtime import connection_limits
from realtime.inbox import get_inbox
from realtime.loops import per_loop
from realtime.protocol import CLOSE_IDLE

logger = logging.getLogger(__name__)


class Watched(Protocol):
    last_seen: float
    id: str
    ip: str | None
    admitted: bool

    @property
    def user_id(self) -> int | None: ...

    def close_soon(self, code: int) -> None: ...

    async def close_now(self, code: int) -> None: ...


class IdleReaper:
    """Checks this process's connections a few times per timeout period."""

    def __init__(self) -> None:
        self._connections: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None
        self._groups_refreshed = time.monotonic()

    def watch(self, connection: Watched) -> None:
        self._connections.add(connection)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def forget(self, connection: Watched) -> None:
        self._connections.discard(connection)

    def connections(self) -> list[Watched]:
        return list(self._connections)

    def reap(self) -> int:
        """Close every connection idle past the timeout; returns how many."""
        cutoff = time.monotonic() - settings.REALTIME_IDLE_TIMEOUT
        idle = [c for c in self._connections if c.last_seen < cutoff]
        for connection in idle:
            self._connections.discard(connection)
            connection.close_soon(CLOSE_IDLE)
        return len(idle)

    async def refresh_groups(self) -> None:
        """Re-add this process's channel-layer group memberships."""
        self._groups_refreshed = time.monotonic()
        try:
            await get_inbox().refresh()
        except RedisError:
            logger.warning("could not refresh channel-layer groups", exc_info=True)

    async def _run(self) -> None:
        group_period = settings.REALTIME_GROUP_EXPIRY / 4
        period = min(settings.REALTIME_IDLE_TIMEOUT, group_period) / 4
        while self._connections:
            await asyncio.sleep(max(0.2, period))
            self.reap()
            try:
                await connection_limits.refresh(
                    [(c.id, c.user_id, c.ip) for c in self._connections if c.admitted]
                )
            except RedisError:
                logger.warning("could not refresh connection counts", exc_info=True)
            if time.monotonic() - self._groups_refreshed >= group_period:
                await self.refresh_groups()


reaper = per_loop(IdleReaper)
