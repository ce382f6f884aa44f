"""Token buckets in Redis, shared by every process (per user, per connection)."""

import time

from realtime import redis_client

# KEYS: one bucket per key. ARGV: rate per second, burst, now ms.
# Takes one token from every bucket, or from none if any is empty.
TAKE_SCRIPT = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local levels = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(state[1]) or burst
  local stamp = tonumber(state[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate / 1000)
  if tokens < 1 then return 0 end
  levels[i] = tokens
end
local ttl = math.ceil(burst / rate * 1000) + 1000
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', levels[i] - 1, 'stamp', now)
  redis.call('PEXPIRE', key, ttl)
end
return 1
"""


def bucket_key(scope: str, name: str) -> str:
    return redis_client.key(f"ratelimit.{scope}", name)


async def take(keys: list[str], *, rate: float, burst: int) -> bool:
    """Take a token from each bucket; False (and nothing taken) if any is empty."""
    allowed = await redis_client.arun_script(
        redis_client.async_client(),
        TAKE_SCRIPT,
        keys,
        [rate, burst, int(time.time() * 1000)],
    )
    return bool(allowed)
