"""The one way to send events to subscribers.

This module is the only code that sends to the channel layer or to Redis
pub/sub. Everything else (views, tasks, topic handlers, commands) calls
publish / apublish / publish_on_commit, and every call site has a test that
checks what a subscriber receives.

A publish runs one Redis script that, atomically: assigns the topic's next
offset, appends the encoded frame to the topic's history stream, trims the
history by count and age, and PUBLISHes the frame to the topic's pub/sub channel.
Because the offset and the PUBLISH happen in one script, every subscriber in
every process sees a topic's events in offset order. The frame is JSON-encoded
once here; each server process writes the same text to all its local sockets.
"""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from redis.exceptions import RedisError

from realtime import metrics, redis_client, script_batch, topics
from realtime.protocol import CLOSE_SESSION_ENDED, ProtocolError

# KEYS: seq, epoch, log, channel (not a key, but passing it keeps the script
# cluster-safe), the global publish counter (for the charts).
# ARGV: frame head, epoch candidate, history size, history ttl ms, meta ttl s,
# now ms.
PUBLISH_SCRIPT = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
  redis.call('SET', KEYS[1], 0)
  redis.call('DEL', KEYS[3])
end
local offset = redis.call('INCR', KEYS[1])
local frame = ARGV[1] .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
local size = tonumber(ARGV[3])
local ttl_ms = tonumber(ARGV[4])
local now_ms = tonumber(ARGV[6])
if size > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', size, offset .. '-0', 'f', frame, 't', now_ms)
  local cutoff = now_ms - ttl_ms
  local oldest = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 16)
  local keep_from = nil
  for _, entry in ipairs(oldest) do
    if tonumber(entry[2][4]) >= cutoff then break end
    keep_from = tonumber(string.match(entry[1], '^(%d+)')) + 1
  end
  if keep_from then redis.call('XTRIM', KEYS[3], 'MINID', keep_from .. '-0') end
  redis.call('PEXPIRE', KEYS[3], ttl_ms)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local header = offset .. ':' .. epoch .. ':' .. ARGV[6]
redis.call('PUBLISH', KEYS[4], header .. '\\n' .. frame)
redis.call('INCR', KEYS[5])
return {offset, epoch}
"""


class UnknownTopic(ValueError):
    """Raised when backend code publishes to a topic no app owns."""


@dataclass(frozen=True)
class Published:
    """Where an event landed: its offset within the topic, and the epoch.

    Ephemeral events (presence, typing) are not stored and have offset 0.
    """

    topic: str
    offset: int
    epoch: str


def stats_key(name: str) -> str:
    """Redis key of a server-wide counter (read by the charts sampler).

    "published" is counted on the shard of each topic; readers sum the shards.
    """
    return f"{settings.REALTIME_REDIS_PREFIX}:stats:{name}"


def channel_name(topic: str) -> str:
    """The Redis pub/sub channel that carries a topic's frames."""
    return redis_client.key(topic, "ch")


def new_epoch() -> str:
    return secrets.token_hex(4)


def _frame_head(topic: str, event: str, data: Any, ts_ms: int) -> str:
    """The event frame without its closing brace, for offset and epoch to follow."""
    encoded_data = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return (
        f'{{"type":"event","topic":{json.dumps(topic)},"event":{json.dumps(event)},'
        f'"data":{encoded_data},"ts":{ts_ms}'
    )


def _prepare(
    topic: str, event: str, data: Any, ephemeral: bool
) -> tuple[list[str], list[Any], str | None]:
    """Keys and args for the publish script, or the whole payload if ephemeral."""
    try:
        kind, _match = topics.resolve(topic)
    except ProtocolError as exc:
        raise UnknownTopic(exc.message) from exc
    ts_ms = int(time.time() * 1000)
    head = _frame_head(topic, event, data, ts_ms)
    if ephemeral:
        return [], [], f"0::{ts_ms}\n{head}}}"
    keys = [
        redis_client.key(topic, "seq"),
        redis_client.key(topic, "epoch"),
        redis_client.key(topic, "log"),
        channel_name(topic),
        stats_key("published"),
    ]
    args = [
        head,
        new_epoch(),
        kind.effective_history_size,
        kind.effective_history_ttl * 1000,
        max(settings.REALTIME_HISTORY_META_TTL, kind.effective_history_ttl),
        ts_ms,
    ]
    return keys, args, None


def publish(topic: str, event: str, data: Any, *, ephemeral: bool = False) -> Published:
    """Send an event to every subscriber of a topic, from sync code.

    Raises UnknownTopic, TypeError/ValueError for data that is not JSON, and
    redis.RedisError when Redis is unreachable: a failed publish is never silent.
    """
    keys, args, payload = _prepare(topic, event, data, ephemeral)
    client = redis_client.sync_shard(topic)
    if payload is not None:
        with client.pipeline(transaction=False) as pipe:
            pipe.publish(channel_name(topic), payload)
            pipe.incr(stats_key("published"))
            pipe.execute()
        return Published(topic=topic, offset=0, epoch="")
    offset, epoch = redis_client.run_script(client, PUBLISH_SCRIPT, keys, args)
    metrics.EVENTS_PUBLISHED.inc()
    return Published(topic=topic, offset=int(offset), epoch=_text(epoch))


async def apublish(
    topic: str, event: str, data: Any, *, ephemeral: bool = False
) -> Published:
    """Send an event to every subscriber of a topic, from async code."""
    keys, args, payload = _prepare(topic, event, data, ephemeral)
    client = redis_client.async_shard(topic)
    if payload is not None:
        async with client.pipeline(transaction=False) as pipe:
            pipe.publish(channel_name(topic), payload)
            pipe.incr(stats_key("published"))
            await pipe.execute()
        return Published(topic=topic, offset=0, epoch="")
    offset, epoch = await redis_client.arun_script(client, PUBLISH_SCRIPT, keys, args)
    metrics.EVENTS_PUBLISHED.inc()
    return Published(topic=topic, offset=int(offset), epoch=_text(epoch))


async def apublish_many(
    events: list[tuple[str, str, Any]],
) -> list[Published | Exception]:
    """Publish stored events, one round trip per shard, each topic's in order.

    Returns, in order, each event's Published or the error that stopped it.
    """
    results: dict[int, Published | Exception] = {}
    by_shard: dict[str, list[tuple[int, list[str], list[Any]]]] = {}
    for index, (topic, event, data) in enumerate(events):
        try:
            keys, args, _ = _prepare(topic, event, data, ephemeral=False)
        except (UnknownTopic, TypeError, ValueError) as error:
            results[index] = error
            continue
        by_shard.setdefault(redis_client.shard_url(topic), []).append(
            (index, keys, args)
        )
    for calls in by_shard.values():
        client = redis_client.async_shard(events[calls[0][0]][0])
        try:
            replies = await script_batch.run_pipelined(
                client, [(PUBLISH_SCRIPT, keys, args) for _, keys, args in calls]
            )
        except RedisError as error:
            replies = [error] * len(calls)
        for (index, _, _), reply in zip(calls, replies, strict=True):
            if isinstance(reply, Exception):
                results[index] = reply
                continue
            metrics.EVENTS_PUBLISHED.inc()
            results[index] = Published(events[index][0], int(reply[0]), _text(reply[1]))
    return [results[index] for index in range(len(events))]


def publish_on_commit(
    topic: str, event: str, data: Any, *, using: str | None = None
) -> None:
    """Publish once the surrounding transaction commits; never if it rolls back.

    Outside a transaction (autocommit) it publishes at once.
    """
    topics.resolve(topic)  # fail now, inside the caller's transaction, not later
    json.dumps(data, allow_nan=False)
    transaction.on_commit(lambda: publish(topic, event, data), using=using)


def group_name(topic: str) -> str:
    """The channel-layer group every subscriber of a topic joins."""
    return f"topic.{topic}"


def send_to_group(topic: str, message: dict[str, Any]) -> None:
    """Send a raw channel-layer message to a topic's group, from sync code.

    For control messages that need no offset (e.g. closing a user's sockets);
    events go through publish so they are stored and ordered.
    """
    _group_send(group_name(topic), message)


def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    # The group's name lets each process's inbox find the sockets behind it.
    async_to_sync(layer.group_send)(group, {**message, "group": group})


SESSION_GROUP_PREFIX = "session."


def session_group(session_key: str) -> str:
    """Channel-layer group of every socket opened with one login session."""
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return f"{SESSION_GROUP_PREFIX}{digest}"


def user_group(user_id: int) -> str:
    """Channel-layer group of every socket of one user."""
    return f"user-sockets.{user_id}"


def close_connections(group: str, code: int = CLOSE_SESSION_ENDED) -> None:
    """Close every socket in a channel-layer group (logout, deactivation)."""
    _group_send(group, {"type": "realtime.close", "code": code})


def revoke_on_commit(topic: str, *, user_id: int) -> None:
    """After commit, unsubscribe a user's live connections from a topic.

    Goes to the topic's channel-layer group; each subscribed connection of that
    user drops the subscription and is sent a `forbidden` error for it.
    """
    message = {"type": "realtime.revoke", "topic": topic, "user_id": user_id}
    transaction.on_commit(lambda: send_to_group(topic, message))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
