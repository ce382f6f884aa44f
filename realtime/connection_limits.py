"""Connections per user and per IP address, counted across all processes.

Each open connection is a member of a Redis sorted set per user and per IP,
scored by an expiry time that its process refreshes (see liveness.py); entries
of a crashed process expire on their own after CONNECTION_ENTRY_TTL seconds.
"""

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError

from realtime import redis_client

logger = logging.getLogger(__name__)

CONNECTION_ENTRY_TTL = 90.0
REFRESH_KEYS = 250

# KEYS: one sorted set per scope. ARGV: connection id, now ms, expiry ms,
# then one limit per key. Adds the connection to every set, or to none.
ADMIT_SCRIPT = """
local now, expires = tonumber(ARGV[2]), tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, expires, ARGV[1])
  redis.call('PEXPIRE', key, expires - now)
end
return 0
"""


def _scopes(user_id: int | None, ip: str | None) -> list[tuple[str, str, int]]:
    """(scope name, Redis key, limit) for each limit that applies."""
    prefix = f"{settings.REALTIME_REDIS_PREFIX}:conns"
    scopes = []
    if user_id is not None:
        limit = settings.REALTIME_MAX_CONNECTIONS_PER_USER
        scopes.append(("user", f"{prefix}:user:{user_id}", limit))
    if ip:
        scopes.append(
            ("ip", f"{prefix}:ip:{ip}", settings.REALTIME_MAX_CONNECTIONS_PER_IP)
        )
    return scopes


def _expiry_ms() -> int:
    return int((time.time() + CONNECTION_ENTRY_TTL) * 1000)


async def admit(connection_id: str, user_id: int | None, ip: str | None) -> str | None:
    """Count a new connection; returns "user" or "ip" if that limit is full."""
    scopes = _scopes(user_id, ip)
    if not scopes:
        return None
    try:
        over = await redis_client.arun_script(
            redis_client.async_client(),
            ADMIT_SCRIPT,
            [key for _, key, _ in scopes],
            [connection_id, int(time.time() * 1000), _expiry_ms()]
            + [limit for _, _, limit in scopes],
            idempotent=True,
        )
    except RedisError:
        # Fail open: the limit protects capacity; while Redis is down the
        # connection can do nothing anyway (its frames get `unavailable`).
        logger.warning("connection limits unavailable; admitting", exc_info=True)
        return None
    return scopes[int(over) - 1][0] if over else None


async def release(connection_id: str, user_id: int | None, ip: str | None) -> None:
    client = redis_client.async_client()
    for _, key, _ in _scopes(user_id, ip):
        await client.zrem(key, connection_id)


async def refresh(entries: list[tuple[str, int | None, str | None]]) -> None:
    """Push back the expiry of live connections (called periodically).

    One ZADD per key for all its connections, sent REFRESH_KEYS keys at a time:
    a command per connection made a burst that stalled the event loop for tens
    of milliseconds with a thousand connections.
    """
    members: dict[str, list[str]] = {}
    for connection_id, user_id, ip in entries:
        for _, key, _ in _scopes(user_id, ip):
            members.setdefault(key, []).append(connection_id)
    expires = _expiry_ms()
    keys = list(members)
    client = redis_client.async_client()
    for start in range(0, len(keys), REFRESH_KEYS):
        async with client.pipeline(transaction=False) as pipe:
            for key in keys[start : start + REFRESH_KEYS]:
                pipe.zadd(key, dict.fromkeys(members[key], expires), xx=True)
                pipe.pexpire(key, int(CONNECTION_ENTRY_TTL * 1000))
            await pipe.execute()
