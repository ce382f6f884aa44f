"""Idempotent Lua script calls that share a round trip.

A reconnect storm runs, per socket, the connection-limit script and a history
read. Issued one by one, each costs a pool checkout, a write and a read in
redis-py, which made them a large part of a connect's CPU. Calls made while a
batch is on the wire queue up and go out together as one pipeline, so a batch
grows with the load and a lone call still goes out at once.
"""

import asyncio
import logging
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from realtime.loops import per_loop
from realtime.redis_client import script_sha

logger = logging.getLogger(__name__)

Call = tuple[str, list[str], list[Any], "asyncio.Future[Any]"]


class ScriptBatcher:
    """Coalesces script calls on one client into pipelines."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._queued: list[Call] = []
        self._task: asyncio.Task[None] | None = None

    async def run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Any] = loop.create_future()
        self._queued.append((script, keys, args, result))
        if self._task is None:
            self._task = loop.create_task(self._flush())
        return await result

    async def _flush(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    results = await self._execute(batch)
                except Exception as error:  # noqa: BLE001 - every caller hears of it
                    results = [error] * len(batch)
                for (_, _, _, future), result in zip(batch, results, strict=True):
                    if future.done():  # the caller was cancelled
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._task = None

    async def _execute(self, batch: list[Call]) -> list[Any]:
        calls = [(script, keys, args) for script, keys, args, _ in batch]
        try:
            return await run_pipelined(self._client, calls)
        except RedisConnectionError:
            # After a Redis restart the pool can hand out a dead connection,
            # which the failure discards; the scripts are idempotent.
            return await run_pipelined(self._client, calls)


async def run_pipelined(
    client: aioredis.Redis, calls: list[tuple[str, list[str], list[Any]]]
) -> list[Any]:
    """Run scripts in order in one pipeline; each result, or the error it raised.

    A script the server has forgotten (NOSCRIPT: it did not run) is loaded and
    sent again, so this is safe for scripts that are not idempotent too; only
    then may a call run after one that followed it.
    """
    results = await _send(client, calls)
    missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
    if missing:  # a Redis that restarted has forgotten the scripts
        for script in {calls[i][0] for i in missing}:
            await client.script_load(script)
        retried = await _send(client, [calls[i] for i in missing])
        for i, result in zip(missing, retried, strict=True):
            results[i] = result
    return results


async def _send(
    client: aioredis.Redis, calls: list[tuple[str, list[str], list[Any]]]
) -> list[Any]:
    async with client.pipeline(transaction=False) as pipe:
        for script, keys, args in calls:
            pipe.evalsha(script_sha(script), len(keys), *keys, *args)
        return list(await pipe.execute(raise_on_error=False))


_batchers = per_loop(dict[int, ScriptBatcher])


async def run_batched(
    client: aioredis.Redis, script: str, keys: list[str], args: list[Any]
) -> Any:
    """Run an idempotent script on client, sharing a round trip with others."""
    batchers = _batchers()
    batcher = batchers.get(id(client))
    if batcher is None:
        batcher = batchers[id(client)] = ScriptBatcher(client)
    return await batcher.run(script, keys, args)
