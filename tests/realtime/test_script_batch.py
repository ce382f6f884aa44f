"""Idempotent script calls share round trips and keep their own results."""

import asyncio
import uuid

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from realtime import redis_client, script_batch


def test_concurrent_calls_share_pipelines_and_each_gets_its_result(monkeypatch):
    # A script this Redis has never seen: the first batch meets NOSCRIPT.
    script = f"-- {uuid.uuid4().hex}\nreturn tonumber(ARGV[1]) * 2"
    sends: list[int] = []
    original = script_batch._send

    async def counting_send(client, calls):  # type: ignore[no-untyped-def]
        sends.append(len(calls))
        return await original(client, calls)

    monkeypatch.setattr(script_batch, "_send", counting_send)

    async def scenario() -> list[int]:
        client = redis_client.async_client()
        calls = [script_batch.run_batched(client, script, [], [n]) for n in range(50)]
        return list(await asyncio.gather(*calls))

    assert asyncio.run(scenario()) == [n * 2 for n in range(50)]
    assert sum(sends) >= 50  # every call went out (twice for NOSCRIPT retries)
    assert len(sends) < 10  # but in a few pipelines, not fifty round trips


def test_a_failing_call_fails_alone():
    good = "return 'ok'"
    bad = "return redis.call('NOSUCHCOMMAND')"

    async def scenario() -> list[object]:
        client = redis_client.async_client()
        calls = [
            script_batch.run_batched(client, good, [], []),
            script_batch.run_batched(client, bad, [], []),
            script_batch.run_batched(client, good, [], []),
        ]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    first, failed, last = asyncio.run(scenario())
    assert first == last == b"ok"
    assert isinstance(failed, ResponseError)


def test_an_unreachable_redis_fails_every_waiting_call():
    from redis import asyncio as aioredis

    async def scenario() -> list[object]:
        client = aioredis.Redis(port=1, socket_connect_timeout=1)
        calls = [script_batch.run_batched(client, "return 1", [], []) for _ in range(3)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await client.aclose()
        return list(results)

    results = asyncio.run(scenario())
    assert all(isinstance(r, RedisConnectionError) for r in results), results
