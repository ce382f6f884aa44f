"""Each server process reports its live counts to Redis for the charts sampler.

Every REALTIME_STATS_INTERVAL seconds a process writes its open connections and
its cumulative delivered frames into one Redis hash, keyed by a process id,
with a timestamp; readers ignore (and remove) entries older than a few intervals,
so a crashed process drops out of the totals.
"""

import asyncio
import json
import logging
import os
import secrets
import time
from typing import Any

from django.conf import settings
from prometheus_client.metrics import MetricWrapperBase
from redis.exceptions import RedisError

from realtime import metrics, redis_client
from realtime.push import stats_key

logger = logging.getLogger(__name__)

PROCESS_ID = f"{os.getpid()}-{secrets.token_hex(3)}"
STALE_AFTER_INTERVALS = 3

_reporters: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}


def _value(metric: MetricWrapperBase) -> float:
    """The metric's current value, read from it alone.

    REGISTRY.get_sample_value would collect every registered metric, including
    the process collector, which lists /proc/self/fd: one entry per open socket.
    """
    for family in metric.collect():
        for sample in family.samples:
            if not sample.name.endswith("_created"):
                return float(sample.value)
    return 0.0


def snapshot() -> dict[str, Any]:
    return {
        "connections": _value(metrics.CONNECTIONS_OPEN),
        "delivered": _value(metrics.FRAMES_DELIVERED),
        "ts": time.time(),
    }


async def _report_forever() -> None:
    while True:
        try:
            await redis_client.async_client().hset(
                stats_key("processes"), PROCESS_ID, json.dumps(snapshot())
            )
        except RedisError:
            logger.warning("could not report process stats", exc_info=True)
        await asyncio.sleep(settings.REALTIME_STATS_INTERVAL)


def ensure_reporter() -> None:
    """Start this process's reporter on the running loop (once)."""
    loop = asyncio.get_running_loop()
    task = _reporters.get(loop)
    if task is None or task.done():
        _reporters[loop] = loop.create_task(_report_forever())


def live_processes() -> list[dict[str, Any]]:
    """The latest report of every live server process (sync; for the sampler)."""
    client = redis_client.sync_client()
    key = stats_key("processes")
    cutoff = time.time() - STALE_AFTER_INTERVALS * settings.REALTIME_STATS_INTERVAL
    alive: list[tuple[bytes | str, dict[str, Any]]] = []
    stale: list[tuple[bytes | str, dict[str, Any]]] = []
    for field, raw in client.hgetall(key).items():
        report = json.loads(raw)
        (alive if report["ts"] >= cutoff else stale).append((field, report))
    if stale:
        client.hdel(key, *[field for field, _ in stale])
    return [report for _, report in alive]
