"""Fan-out throughput of this server: N subscribers on one topic, events
published as fast as one publisher can, deliveries counted at the clients.

    .venv/bin/python bench/fanout.py --subscribers 1000 --events 200

Starts its own daphne process with its own Redis key
prefix. The load generator is one asyncio process using `websockets`; its
CPU use is printed too, so you can see when it, not the server, is the limit.
Not part of the test suite; the side-by-side suite of issue #7 will build on it.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path

import websockets

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.connect_load import delete_keys, free_port, start_server  # noqa: E402


async def subscriber(
    url: str,
    origin: str,
    topic: str,
    ready: asyncio.Event,
    counts: list[int],
    index: int,
    expected: int,
) -> None:
    async with websockets.connect(
        url,
        origin=origin,
        open_timeout=60,  # type: ignore[arg-type]
        max_queue=None,
        compression=None,
    ) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        ready.set()
        while counts[index] < expected:
            frame = json.loads(await ws.recv())
            if frame.get("event") == "tick":
                counts[index] += 1


async def run(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    prefix = f"rtbench-{uuid.uuid4().hex[:8]}"
    proc = start_server(port, prefix, Path("var") / f"bench-fanout-{port}.log")
    url, origin = f"ws://127.0.0.1:{port}/ws/", f"http://127.0.0.1:{port}"
    topic = f"public.fanout{uuid.uuid4().hex[:6]}"
    counts = [0] * args.subscribers
    readies = [asyncio.Event() for _ in range(args.subscribers)]
    try:
        tasks = []
        for first in range(0, args.subscribers, 200):
            batch = range(first, min(first + 200, args.subscribers))
            tasks += [
                asyncio.create_task(
                    subscriber(url, origin, topic, readies[i], counts, i, args.events)
                )
                for i in batch
            ]
            await asyncio.gather(*(readies[i].wait() for i in batch))
        os.environ.update(
            REALTIME_REDIS_PREFIX=prefix, DJANGO_SETTINGS_MODULE="realtime.settings"
        )
        os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
        import django

        django.setup()
        from realtime import push

        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        for i in range(args.events):
            await push.apublish(topic, "tick", {"i": i})
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        elapsed = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        delete_keys(prefix)
    delivered = sum(counts)
    generator_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    return {
        "subscribers": args.subscribers,
        "events": args.events,
        "delivered": delivered,
        "expected": args.subscribers * args.events,
        "seconds": round(elapsed, 2),
        "deliveries_per_second": round(delivered / elapsed),
        "generator_cpu_share": round(generator_cpu / elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
