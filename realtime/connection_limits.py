"""Connections per user and per IP address, counted across all processes.

Each open connection is a member of a Redis sorted set per user and per IP,
scored by an expiry time that its process refreshes (see liveness.py); entries
of a crashed process expire on their own after CONNECTION_ENTRY_TTL seconds.
"""

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError

from realtime import redis_client, script_batch

logger = logging.getLogger(__name__)

CONNECTION_ENTRY_TTL = 90.0
REFRESH_KEYS = 250

# KEYS: one sorted set per scope, then the socket token's revocation markers.
# ARGV: connection id, now ms, expiry ms, token login ms, number of scopes, then
# one limit per scope. Returns -1 if a marker is at least as new as the token,
# i if scope i is full, else 0 after adding the connection to every set.
ADMIT_SCRIPT = """
local now, expires = tonumber(ARGV[2]), tonumber(ARGV[3])
local issued, scopes = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = scopes + 1, #KEYS do
  local revoked = redis.call('GET', KEYS[i])
  if revoked and tonumber(revoked) >= issued then return -1 end
end
for i = 1, scopes do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[5 + i]) then return i end
end
for i = 1, scopes do
  redis.call('ZADD', KEYS[i], expires, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], expires - now)
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


async def admit(
    connection_id: str,
    user_id: int | None,
    ip: str | None,
    *,
    revocations: list[str] | None = None,
    authenticated_ms: int = 0,
) -> str | None:
    """Count a new connection; returns "user" or "ip" if that limit is full.

    With a socket token, also "revoked" if one of its revocation markers
    (realtime.socket_tokens) was written at or after the token's login.
    """
    scopes = _scopes(user_id, ip)
    revocations = revocations or []
    if not scopes and not revocations:
        return None
    now_ms = int(time.time() * 1000)
    try:
        over = await script_batch.run_batched(
            redis_client.async_client(),
            ADMIT_SCRIPT,
            [key for _, key, _ in scopes] + revocations,
            [connection_id, now_ms, _expiry_ms(), authenticated_ms, len(scopes)]
            + [limit for _, _, limit in scopes],
        )
    except RedisError:
        # Fail open: the limit protects capacity; while Redis is down the
        # connection can do nothing anyway (its frames get `unavailable`).
        logger.warning("connection limits unavailable; admitting", exc_info=True)
        return None
    if int(over) < 0:
        return "revoked"
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
