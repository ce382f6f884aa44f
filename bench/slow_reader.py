"""Does a stalled reader delay anyone else? Healthy clients' p99 latency with
and without one stalled peer, on the same server in one run.

    .venv/bin/python bench/slow_reader.py --healthy 500 --rate 20 --seconds 10

Phase A: N healthy clients on `broadcast`, a stream published at --rate with a
timestamp, plus 60 KB bulk events to a topic nobody reads. Phase B: the same,
but a raw socket with a 4 KiB receive window subscribed to both topics stops
reading. Prints p99 (ms) for both phases and their ratio (goal: <= 1.5).
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

import websockets

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.connect_load import delete_keys, free_port, start_server  # noqa: E402
from tests.rawws import RawWebSocket  # noqa: E402

BULK = "x" * 60_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def healthy(url: str, origin: str, latencies: list[float]) -> None:
    async with websockets.connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        open_timeout=60,
        max_queue=None,
        compression=None,
    ) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "topic": "broadcast"}))
        async for text in ws:
            frame = json.loads(text)
            if frame.get("event") == "tick":
                latencies.append(time.time() - frame["data"]["t"])


async def phase(push, args, bulk_topic: str, latencies: list[float]) -> float:  # type: ignore[no-untyped-def]
    latencies.clear()
    for _ in range(int(args.rate * args.seconds)):
        await push.apublish("broadcast", "tick", {"t": time.time()})
        await push.apublish(bulk_topic, "blob", {"blob": BULK})
        await asyncio.sleep(1 / args.rate)
    await asyncio.sleep(1.0)
    return round(percentile(latencies, 0.99) * 1000, 1)


async def run(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    prefix = f"rtbench-{uuid.uuid4().hex[:8]}"
    proc = start_server(port, prefix, Path("var") / f"bench-slow-{port}.log")
    url, origin = f"ws://127.0.0.1:{port}/ws/", f"http://127.0.0.1:{port}"
    os.environ.update(REALTIME_REDIS_PREFIX=prefix)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django

    django.setup()
    from realtime import push

    latencies: list[float] = []
    bulk_topic = f"public.bulk{uuid.uuid4().hex[:6]}"
    try:
        tasks = [
            asyncio.create_task(healthy(url, origin, latencies))
            for _ in range(args.healthy)
        ]
        await asyncio.sleep(max(3.0, args.healthy / 100))
        without = await phase(push, args, bulk_topic, latencies)
        stalled = RawWebSocket(url, origin=origin, receive_buffer=4096)
        stalled.open()
        for topic in ("broadcast", bulk_topic):
            stalled.send_json({"type": "subscribe", "topic": topic})
        with_stalled = await phase(push, args, bulk_topic, latencies)
        stalled.close()
        for task in tasks:
            task.cancel()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        delete_keys(prefix)
    return {
        "healthy": args.healthy,
        "rate": args.rate,
        "p99_ms_without_stalled": without,
        "p99_ms_with_stalled": with_stalled,
        "ratio": round(with_stalled / without, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
