"""Live charts: time-series topics `chart.<name>` and the built-in samplers."""

import json
import math
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import psutil
from django.conf import settings
from django.db.models import Count

from dashboard.models import Job, JobState
from realtime import push, redis_client, stats

NAME_RE = re.compile(r"[A-Za-z0-9_\-]{1,80}")


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    unit: str
    series: tuple[str, ...] = ("value",)


BUILTIN_CHARTS = [
    Chart("connections", "Open WebSocket connections", "connections"),
    Chart("throughput", "Events per second", "events/s", ("published", "delivered")),
    Chart("jobs", "Jobs by state", "jobs", ("pending", "running", "retrying")),
    Chart("queue", "Celery queue depth", "messages"),
    Chart("redis_memory", "Redis memory", "MiB"),
    Chart("redis_ops", "Redis operations per second", "ops/s"),
    Chart("host", "Host CPU and memory", "%", ("cpu", "memory")),
]


def chart_definitions() -> list[dict[str, Any]]:
    return [asdict(chart) for chart in BUILTIN_CHARTS]


def record(name: str, value: float | dict[str, float], ts: float | None = None) -> None:
    """Add a point to chart `name` (one number, or one number per series).

    `ts` is Unix seconds (default now). Pushed live and kept in topic history.
    """
    if not NAME_RE.fullmatch(name):
        raise ValueError("chart name must be 1-80 letters, digits, '-' or '_'")
    values = value if isinstance(value, dict) else {"value": value}
    for series, number in values.items():
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise ValueError(f"{series}: value must be a number")
        if not math.isfinite(number):
            raise ValueError(f"{series}: value must be finite")
    point_ts = time.time() if ts is None else ts
    push.publish(f"chart.{name}", "point", {"ts": point_ts, "values": values})


def _redis_figures() -> dict[str, float]:
    info = redis_client.sync_client().info()
    return {
        "memory_mib": round(info["used_memory"] / 2**20, 2),
        "ops": float(info["instantaneous_ops_per_sec"]),
    }


def _rate(name: str, total: float, now: float) -> float:
    """Per-second rate of a cumulative total since the previous sample."""
    client = redis_client.sync_client()
    key = push.stats_key(f"last:{name}")
    previous = client.getset(key, json.dumps({"total": total, "ts": now}))
    if previous is None:
        return 0.0
    before = json.loads(previous)
    elapsed = now - before["ts"]
    if elapsed <= 0:
        return 0.0
    return max(0.0, round((total - before["total"]) / elapsed, 2))


def _job_counts() -> dict[str, float]:
    by_state = dict(
        Job.objects.exclude(
            state__in=[
                s.value
                for s in (JobState.SUCCESS, JobState.FAILURE, JobState.CANCELLED)
            ]
        )
        .values_list("state")
        .annotate(n=Count("id"))
    )
    running = sum(by_state.get(s, 0) for s in (JobState.STARTED, JobState.PROGRESS))
    return {
        "pending": float(by_state.get(JobState.PENDING, 0)),
        "running": float(running),
        "retrying": float(by_state.get(JobState.RETRYING, 0)),
    }


def _queue_depth() -> float:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    key = f"{prefix}{settings.CELERY_TASK_DEFAULT_QUEUE}"
    return float(redis_client.sync_client().llen(key))


def sample_builtin_charts() -> dict[str, dict[str, float]]:
    """Read every built-in source once and record one point per chart."""
    now = time.time()
    processes = stats.live_processes()
    published_key = push.stats_key("published")
    published_total = sum(
        float(shard.get(published_key) or 0) for shard in redis_client.sync_shards()
    )
    delivered_total = sum(p["delivered"] for p in processes)
    redis_figures = _redis_figures()
    points: dict[str, dict[str, float]] = {
        "connections": {"value": sum(p["connections"] for p in processes)},
        "throughput": {
            "published": _rate("published", published_total, now),
            "delivered": _rate("delivered", delivered_total, now),
        },
        "jobs": _job_counts(),
        "queue": {"value": _queue_depth()},
        "redis_memory": {"value": redis_figures["memory_mib"]},
        "redis_ops": {"value": redis_figures["ops"]},
        "host": {
            "cpu": psutil.cpu_percent(interval=None),
            "memory": psutil.virtual_memory().percent,
        },
    }
    for name, values in points.items():
        record(name, values, ts=now)
    return points
