"""The Redis channel layer, configured to survive connection bursts."""

import time
from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from redis import asyncio as aioredis

# channels_redis issue 422: with redis-py 8 the default async pool holds 100
# connections and raises MaxConnectionsError the moment they are all in use, and
# the default 5 s socket timeout equals the layer's 5 s BZPOPMIN, so idle receives
# fail with "Timeout reading". 5,000 sockets connecting at once logged thousands
# of both. A blocking pool makes a burst wait for a connection instead of failing,
# and a read timeout well above the BZPOPMIN timeout lets idle receives finish.
SOCKET_TIMEOUT = RedisChannelLayer.brpop_timeout + 10
POOL_WAIT_TIMEOUT = 20


class RealtimeChannelLayer(RedisChannelLayer):
    """RedisChannelLayer whose pools wait for a free connection instead of raising."""

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host: dict[str, Any] = dict(self.hosts[index])
        host.setdefault("max_connections", 64)
        host.setdefault("socket_timeout", SOCKET_TIMEOUT)
        host.setdefault("socket_connect_timeout", 5)
        host.setdefault("health_check_interval", 2)
        if "address" not in host:
            # A Sentinel entry: channels-redis builds a SentinelConnectionPool,
            # which has no blocking variant.
            return create_pool(host)
        address = host.pop("address")
        host.setdefault("timeout", POOL_WAIT_TIMEOUT)
        return aioredis.BlockingConnectionPool.from_url(address, **host)

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        """group_add for several groups: one pipelined round trip per shard.

        Writes exactly what group_add writes (ZADD with the time, EXPIRE), so
        group_send and group_discard see no difference.
        """
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        by_shard: dict[int, list[str]] = {}
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_shard.setdefault(self.consistent_hash(group), []).append(group)
        now = time.time()
        for index, shard_groups in by_shard.items():
            async with self.connection(index).pipeline(transaction=False) as pipe:
                for group in shard_groups:
                    pipe.zadd(self._group_key(group), {channel: now})
                    pipe.expire(self._group_key(group), self.group_expiry)
                await pipe.execute()

    async def group_discard_many(
        self, groups: list[str], channel: str, *, before: float
    ) -> None:
        """group_discard for several groups, unless re-added at or after `before`.

        A membership re-added while the discard was in flight carries a newer
        score (group_add writes the time), so it survives.
        """
        by_shard: dict[int, list[str]] = {}
        for group in groups:
            by_shard.setdefault(self.consistent_hash(group), []).append(group)
        for index, shard_groups in by_shard.items():
            keys = [self._group_key(group) for group in shard_groups]
            await self.connection(index).eval(
                DISCARD_OLDER_SCRIPT, len(keys), *keys, channel, repr(before)
            )


# ZREM channel from each group key, but only where its score (the time it was
# added) is older than ARGV[2].
DISCARD_OLDER_SCRIPT = """
for _, key in ipairs(KEYS) do
  local score = redis.call('ZSCORE', key, ARGV[1])
  if score and tonumber(score) < tonumber(ARGV[2]) then
    redis.call('ZREM', key, ARGV[1])
  end
end
return 0
"""
