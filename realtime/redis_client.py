"""Redis clients for the push core: one sync pool per process, one async per loop.

Async clients are bound to the event loop that created them; async_to_sync and
scripts run a fresh loop per call, and reusing a client across loops is what
raises "Event loop is closed" (channels_redis issue 332). So each loop gets its
own client, dropped with the loop.
"""

import asyncio
import hashlib
import weakref
from typing import Any

import redis
from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

_sync_client: redis.Redis | None = None
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis]"
_async_clients = weakref.WeakKeyDictionary()

POOL_WAIT_TIMEOUT = 10


def key(topic: str, suffix: str) -> str:
    """Redis key for one topic; the {hash tag} keeps a topic's keys on one shard."""
    return f"{settings.REALTIME_REDIS_PREFIX}:{{{topic}}}:{suffix}"


def _pool_options() -> dict[str, Any]:
    """Callers wait for a free connection rather than fail (see layers.py)."""
    return {
        "max_connections": settings.REALTIME_REDIS_MAX_CONNECTIONS,
        "timeout": POOL_WAIT_TIMEOUT,
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        # A connection idle this long is PINGed before use, so connections left
        # dead by a Redis restart are replaced instead of failing a command.
        "health_check_interval": 2,
    }


def sync_client() -> redis.Redis:
    """The process's sync client (redis-py resets its pool after a fork)."""
    global _sync_client
    if _sync_client is None:
        pool = redis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, **_pool_options()
        )
        _sync_client = redis.Redis(connection_pool=pool, decode_responses=False)
    return _sync_client


def async_client() -> aioredis.Redis:
    """A client bound to the running event loop."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL, **_pool_options()
        )
        client = aioredis.Redis(connection_pool=pool)
        _async_clients[loop] = client
    return client


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()


def run_script(
    client: redis.Redis, script: str, keys: list[str], args: list[Any]
) -> Any:
    """EVALSHA a Lua script, loading it on the first NOSCRIPT."""
    try:
        return client.evalsha(_sha(script), len(keys), *keys, *args)
    except NoScriptError:
        return client.eval(script, len(keys), *keys, *args)


async def arun_script(
    client: aioredis.Redis,
    script: str,
    keys: list[str],
    args: list[Any],
    *,
    idempotent: bool = False,
) -> Any:
    """EVALSHA a Lua script from async code, loading it on the first NOSCRIPT.

    An idempotent script is tried once more on a connection error: after a Redis
    restart the pool can hand out a dead connection, which the failure discards.
    A publish is never retried (it could run twice).
    """
    try:
        return await _evalsha_or_load(client, script, keys, args)
    except RedisConnectionError:
        if not idempotent:
            raise
        return await _evalsha_or_load(client, script, keys, args)


async def _evalsha_or_load(
    client: aioredis.Redis, script: str, keys: list[str], args: list[Any]
) -> Any:
    try:
        return await client.evalsha(_sha(script), len(keys), *keys, *args)
    except NoScriptError:
        return await client.eval(script, len(keys), *keys, *args)
