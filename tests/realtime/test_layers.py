"""The channel layer's batched group join writes what group_add writes."""

import asyncio
import uuid

from django.conf import settings

from realtime.layers import RealtimeChannelLayer


def layer(shards: int) -> RealtimeChannelLayer:
    return RealtimeChannelLayer(
        hosts=[settings.REDIS_URL] * shards,
        prefix=f"{settings.REALTIME_REDIS_PREFIX}:asgi",
        group_expiry=600,
    )


def test_group_add_many_joins_every_group_like_group_add():
    tag = uuid.uuid4().hex[:8]
    groups = [f"g{n}-{tag}" for n in range(5)]

    async def scenario() -> tuple[list[object], list[tuple[float | None, int]]]:
        sender, receiver = layer(1), layer(2)
        channel = await receiver.new_channel()
        await receiver.group_add_many(groups, channel)
        for n, group in enumerate(groups):
            await sender.group_send(group, {"type": "probe", "n": n})
        received = [
            (await asyncio.wait_for(receiver.receive(channel), 5))["n"] for _ in groups
        ]
        stored = []
        for group in groups:
            conn = receiver.connection(receiver.consistent_hash(group))
            key = receiver._group_key(group)
            stored.append((await conn.zscore(key, channel), await conn.ttl(key)))
            await receiver.group_discard(group, channel)
        await sender.close_pools()
        await receiver.close_pools()
        return received, stored

    received, stored = asyncio.run(scenario())
    assert sorted(received) == list(range(5))  # type: ignore[type-var]
    assert all(score is not None and 590 <= ttl <= 600 for score, ttl in stored)
