"""Reading a topic's position and history for snapshots and recovery.

Writes happen only in push.publish; this module only reads (and creates a
topic's epoch the first time anyone looks at it, so a subscriber to a quiet
topic still gets an epoch to recover against later).
"""

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from realtime import redis_client, script_batch
from realtime.protocol import Since
from realtime.push import new_epoch
from realtime.topics import TopicKind

# KEYS: seq, epoch, log. ARGV: epoch candidate, meta ttl s, mode, n.
# mode "since": entries after offset n; "last": the newest n entries.
READ_SCRIPT = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch, 'EX', ARGV[2])
  redis.call('SET', KEYS[1], 0, 'EX', ARGV[2])
  redis.call('DEL', KEYS[3])
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[4])
local entries = {}
if ARGV[3] == 'since' and n < seq then
  entries = redis.call('XRANGE', KEYS[3], (n + 1) .. '-0', '+')
elseif ARGV[3] == 'last' and n > 0 then
  entries = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', n)
end
return {seq, epoch, entries}
"""


@dataclass(frozen=True)
class Entry:
    offset: int
    frame: str


@dataclass
class Position:
    """A topic's newest offset and epoch, and the history entries asked for."""

    offset: int
    epoch: str
    entries: list[Entry] = field(default_factory=list)


def _decode(raw: Any, ttl_s: int) -> Position:
    seq, epoch, raw_entries = raw
    cutoff_ms = int(time.time() * 1000) - ttl_s * 1000
    entries = []
    for entry_id, fields in raw_entries:
        values = dict(zip(fields[::2], fields[1::2], strict=True))
        if int(values[b"t"]) < cutoff_ms:
            continue
        offset = int(entry_id.split(b"-")[0])
        entries.append(Entry(offset=offset, frame=values[b"f"].decode()))
    entries.sort(key=lambda e: e.offset)
    epoch_text = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
    return Position(offset=int(seq), epoch=epoch_text, entries=entries)


async def read(topic: str, kind: TopicKind, *, mode: str, n: int) -> Position:
    """The topic's position, plus entries after offset n ("since") or the last n."""
    keys = [
        redis_client.key(topic, "seq"),
        redis_client.key(topic, "epoch"),
        redis_client.key(topic, "log"),
    ]
    meta_ttl = max(settings.REALTIME_HISTORY_META_TTL, kind.effective_history_ttl)
    args = [new_epoch(), meta_ttl, mode, n]
    client = redis_client.async_shard(topic)
    raw = await script_batch.run_batched(client, READ_SCRIPT, keys, args)
    return _decode(raw, kind.effective_history_ttl)


def is_recoverable(position: Position, since: Since) -> bool:
    """True when the entries read cover every offset after since, with no gap."""
    if since.epoch != position.epoch or since.offset > position.offset:
        return False
    expected = since.offset + 1
    for entry in position.entries:
        if entry.offset != expected:
            return False
        expected += 1
    return expected == position.offset + 1


@dataclass
class CatchUp:
    """What a (re)subscribing connection must send before live events."""

    position: Position
    replay: list[Entry]
    recovered: bool | None  # None when no `since` was given


async def catch_up(
    topic: str, kind: TopicKind, *, since: Since | None, last: int
) -> CatchUp:
    """Recover everything after `since` if history covers it; otherwise (or
    without `since`) the newest `last` entries as a snapshot."""
    if since is not None:
        position = await read(topic, kind, mode="since", n=since.offset)
        if is_recoverable(position, since):
            return CatchUp(position, position.entries, recovered=True)
        if not last:
            return CatchUp(position, [], recovered=False)
        position = await read(topic, kind, mode="last", n=last)
        return CatchUp(position, position.entries, recovered=False)
    position = await read(topic, kind, mode="last", n=last)
    return CatchUp(position, position.entries, recovered=None)
