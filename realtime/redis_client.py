"""Redis clients for the push core: one sync pool per process, one async per loop.

Two roles: the main Redis (REDIS_URL) holds server-wide keys, and the topic
shards (REDIS_SHARD_URLS) hold everything keyed by topic, each topic on the
shard `shard_index` picks. With one shard both roles may be the same server.

Async clients are bound to the event loop that created them; async_to_sync and
scripts run a fresh loop per call, and reusing a client across loops is what
raises "Event loop is closed" (channels_redis issue 332). So each loop gets its
own clients, dropped with the loop.
"""

import asyncio
import hashlib
import weakref
from types import ModuleType
from typing import Any

import redis
from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from realtime.redis_urls import parse_sentinel, shard_index

# Keyed by URL: the main Redis and a shard may be the same server and share a pool.
_sync_clients: dict[str, redis.Redis] = {}
_LoopClients = dict[str, aioredis.Redis]
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients]"
_async_clients = weakref.WeakKeyDictionary()

POOL_WAIT_TIMEOUT = 10


def key(topic: str, suffix: str) -> str:
    """Redis key for one topic; the {hash tag} keeps a topic's keys on one shard."""
    return f"{settings.REALTIME_REDIS_PREFIX}:{{{topic}}}:{suffix}"


def shard_url(topic: str) -> str:
    """The address of the Redis shard that holds a topic."""
    shards = settings.REDIS_SHARD_URLS
    return shards[shard_index(topic, len(shards))]


def _pool_options() -> dict[str, Any]:
    """Callers wait for a free connection rather than fail (see layers.py)."""
    return {
        "max_connections": settings.REALTIME_REDIS_MAX_CONNECTIONS,
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        # A connection idle this long is PINGed before use, so connections left
        # dead by a Redis restart are replaced instead of failing a command.
        "health_check_interval": 2,
    }


def connection_pool(lib: ModuleType, url: str, **options: Any) -> Any:
    """A pool from `lib` (redis or redis.asyncio) for a plain or Sentinel URL.

    Plain URLs get a blocking pool; Sentinel pools ask the sentinels for the
    current master on every new connection, so they follow a failover.
    """
    sentinel = parse_sentinel(url)
    if sentinel is None:
        return lib.BlockingConnectionPool.from_url(
            url, timeout=POOL_WAIT_TIMEOUT, **options
        )
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    return lib.sentinel.SentinelConnectionPool(
        sentinel.master_name,
        lib.sentinel.Sentinel(sentinel.sentinels, sentinel_kwargs=timeouts),
        db=sentinel.db,
        password=sentinel.password,
        **options,
    )


def _sync_client_at(url: str) -> redis.Redis:
    client = _sync_clients.get(url)
    if client is None:
        pool = connection_pool(redis, url, **_pool_options())
        client = _sync_clients[url] = redis.Redis(connection_pool=pool)
    return client


def _async_client_at(url: str) -> aioredis.Redis:
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(url)
    if client is None:
        pool = connection_pool(aioredis, url, **_pool_options())
        client = clients[url] = aioredis.Redis(connection_pool=pool)
    return client


def sync_client() -> redis.Redis:
    """The main Redis, sync (redis-py resets its pool after a fork)."""
    return _sync_client_at(settings.REDIS_URL)


def async_client() -> aioredis.Redis:
    """The main Redis, bound to the running event loop."""
    return _async_client_at(settings.REDIS_URL)


def sync_shard(topic: str) -> redis.Redis:
    """The shard holding a topic, sync."""
    return _sync_client_at(shard_url(topic))


def async_shard(topic: str) -> aioredis.Redis:
    """The shard holding a topic, bound to the running event loop."""
    return _async_client_at(shard_url(topic))


def sync_shards() -> list[redis.Redis]:
    """Every shard, sync (for figures summed over shards)."""
    return [_sync_client_at(url) for url in settings.REDIS_SHARD_URLS]


def script_sha(script: str) -> str:
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()


def run_script(
    client: redis.Redis, script: str, keys: list[str], args: list[Any]
) -> Any:
    """EVALSHA a Lua script, loading it on the first NOSCRIPT."""
    try:
        return client.evalsha(script_sha(script), len(keys), *keys, *args)
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
        return await client.evalsha(script_sha(script), len(keys), *keys, *args)
    except NoScriptError:
        return await client.eval(script, len(keys), *keys, *args)
