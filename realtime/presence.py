"""Presence: who is subscribed to a topic right now, across all processes.

Per topic, Redis holds each connection's entry (a hash), its expiry time (a
sorted set) and a per-person connection count (a hash), changed only by the
Lua scripts below so join/leave decisions are atomic. A person with several
tabs is present once. Each process refreshes its own connections' expiry every
REALTIME_PRESENCE_INTERVAL seconds; entries of a crashed process stop being
refreshed, so members() hides them after REALTIME_PRESENCE_TTL seconds and the
next sweep removes them and announces `presence.leave`.
"""

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any, TypedDict

from django.conf import settings
from redis.exceptions import RedisError

from realtime import push, redis_client
from realtime.loops import per_loop

if TYPE_CHECKING:
    from realtime.connection import ClientConnection

logger = logging.getLogger(__name__)

# ARGV: expiry time, key TTL, then (connection, entry, person) for each
# connection; returns, for each, 1 if its person just arrived.
JOIN_SCRIPT = """
local firsts = {}
for i = 3, #ARGV, 3 do
  local existed = redis.call('HEXISTS', KEYS[1], ARGV[i])
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
  local first = 0
  if existed == 0 and redis.call('HINCRBY', KEYS[3], ARGV[i + 2], 1) == 1 then
    first = 1
  end
  table.insert(firsts, first)
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return firsts
"""
# Connections re-asserted per script call: bounds how long one call holds Redis.
REFRESH_CHUNK = 200

LEAVE_SCRIPT = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HINCRBY', KEYS[3], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[3], ARGV[2])
  return 1
end
return 0
"""

SWEEP_SCRIPT = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local gone = {}
for _, conn in ipairs(dead) do
  local entry = redis.call('HGET', KEYS[1], conn)
  redis.call('HDEL', KEYS[1], conn)
  redis.call('ZREM', KEYS[2], conn)
  if entry then
    local person = cjson.decode(entry)['key']
    if redis.call('HINCRBY', KEYS[3], person, -1) <= 0 then
      redis.call('HDEL', KEYS[3], person)
      table.insert(gone, entry)
    end
  end
end
return gone
"""


class Member(TypedDict):
    key: str
    user_id: int | None
    name: str
    connections: int


def _keys(topic: str) -> list[str]:
    return [
        redis_client.key(topic, "presence"),
        redis_client.key(topic, "presence_exp"),
        redis_client.key(topic, "presence_people"),
    ]


def _ttl_ms() -> int:
    return int(settings.REALTIME_PRESENCE_TTL * 1000)


def _entry(connection: "ClientConnection") -> dict[str, Any]:
    principal = connection.principal
    return {
        "key": principal.presence_key,
        "user_id": principal.user_id,
        "name": principal.name,
    }


async def _assert_present(
    topic: str, connections: list["ClientConnection"]
) -> list[dict[str, Any]]:
    """Record connections as present (idempotent); the entries of people who
    just arrived."""
    entries = [_entry(connection) for connection in connections]
    args: list[Any] = [int(time.time() * 1000) + _ttl_ms(), _ttl_ms() * 4]
    for connection, entry in zip(connections, entries, strict=True):
        args += [connection.id, json.dumps(entry), entry["key"]]
    firsts = await redis_client.arun_script(
        redis_client.async_shard(topic),
        JOIN_SCRIPT,
        _keys(topic),
        args,
        idempotent=True,
    )
    return [entry for entry, first in zip(entries, firsts, strict=True) if first]


async def join(topic: str, connection: "ClientConnection") -> None:
    """Record a connection as present; announce the person if they just arrived."""
    arrived = await _assert_present(topic, [connection])
    tracker().add(topic, connection)
    for entry in arrived:
        await push.apublish(topic, "presence.join", entry, ephemeral=True)


async def leave(topic: str, connection: "ClientConnection") -> None:
    """Remove a connection; announce the person if it was their last one."""
    tracker().discard(topic, connection)
    entry = _entry(connection)
    last = await redis_client.arun_script(
        redis_client.async_shard(topic),
        LEAVE_SCRIPT,
        _keys(topic),
        [connection.id, entry["key"]],
        idempotent=True,
    )
    if last:
        await push.apublish(topic, "presence.leave", entry, ephemeral=True)


async def members(topic: str) -> list[Member]:
    """Everyone present now, one row per person, with their connection count."""
    client = redis_client.async_shard(topic)
    entries_key, expiry_key, _people = _keys(topic)
    now = int(time.time() * 1000)
    async with client.pipeline(transaction=True) as pipe:
        pipe.hgetall(entries_key)
        pipe.zrangebyscore(expiry_key, now, "+inf")
        entries, alive = await pipe.execute()
    people: dict[str, Member] = {}
    for conn in alive:
        raw = entries.get(conn)
        if raw is None:
            continue
        entry = json.loads(raw)
        member = people.setdefault(
            entry["key"],
            {
                "key": entry["key"],
                "user_id": entry["user_id"],
                "name": entry["name"],
                "connections": 0,
            },
        )
        member["connections"] += 1
    return sorted(people.values(), key=lambda m: (m["name"], m["key"]))


async def sweep(topic: str) -> int:
    """Remove expired entries and announce who left; returns how many left."""
    gone = await redis_client.arun_script(
        redis_client.async_shard(topic),
        SWEEP_SCRIPT,
        _keys(topic),
        [int(time.time() * 1000)],
        idempotent=True,
    )
    for raw in gone:
        await push.apublish(topic, "presence.leave", json.loads(raw), ephemeral=True)
    return len(gone)


class PresenceTracker:
    """Keeps this process's presence entries alive and sweeps their topics."""

    def __init__(self) -> None:
        self._entries: dict[str, set[ClientConnection]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, topic: str, connection: "ClientConnection") -> None:
        self._entries.setdefault(topic, set()).add(connection)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, topic: str, connection: "ClientConnection") -> None:
        connections = self._entries.get(topic)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._entries[topic]

    async def refresh(self) -> None:
        """Re-assert every local entry (idempotent: the join script only counts a
        connection once), so entries lost with a Redis restart come back and
        their people are announced again."""
        rejoined: list[tuple[str, dict[str, Any]]] = []
        for topic, connections in list(self._entries.items()):
            local = list(connections)
            for start in range(0, len(local), REFRESH_CHUNK):
                chunk = local[start : start + REFRESH_CHUNK]
                for entry in await _assert_present(topic, chunk):
                    rejoined.append((topic, entry))
        for topic, entry in rejoined:
            await push.apublish(topic, "presence.join", entry, ephemeral=True)
        for topic in list(self._entries):
            await sweep(topic)

    async def _run(self) -> None:
        while self._entries:
            await asyncio.sleep(settings.REALTIME_PRESENCE_INTERVAL)
            try:
                await self.refresh()
            except RedisError:
                logger.warning("presence refresh failed", exc_info=True)


tracker = per_loop(PresenceTracker)
