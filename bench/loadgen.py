"""The load generator: many picows WebSocket clients in one uvloop process.

Run by bench/suite.py as a subprocess (so it has its own core). It opens the
connections, prints READY, counts frames until every expected one arrived or
none came for --idle seconds, and prints one JSON line of results.

picows parses frames in C and hands payloads over without copies; the
generator's own CPU share is reported, so a run where it (not the server) was
the limit can be seen in the results.
"""

import argparse
import asyncio
import gc
import json
import re
import resource
import sys
import time

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

# "t":<publish time> inside each benchmark event (see bench/targets.py).
PUBLISH_TIME = re.compile(rb'"t": ?([0-9.]+)')


class Stats:
    def __init__(self, clients: int, expected: int, latency: bool) -> None:
        self.clients = clients
        self.settled = asyncio.Event()  # every client is ready or failed
        self.expected = expected
        self.latency = latency
        self.ready = 0
        self.received = 0
        self.first_publish: float | None = None
        self.last_receive = 0.0
        self.latencies: list[float] = []
        self.done = asyncio.get_running_loop().create_future()
        self.errors = 0

    def count_settled(self) -> None:
        if self.ready + self.errors >= self.clients:
            self.settled.set()


class Subscriber(WSListener):  # type: ignore[misc]
    """Subscribes (when the target needs a frame for it), then counts ticks."""

    def __init__(self, stats: Stats, subscribe: bytes | None) -> None:
        self.stats = stats
        self.subscribe = subscribe
        self.ready = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.subscribe is None:
            self._ready()
        else:
            transport.send(WSMsgType.TEXT, self.subscribe)

    def _ready(self) -> None:
        self.ready = True
        self.stats.ready += 1
        self.stats.count_settled()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if not self.ready:
            if b'"subscribed"' in payload:
                self._ready()
            return
        if b'"tick"' not in payload:
            return
        stats = self.stats
        now = time.time()
        if stats.latency or stats.first_publish is None:
            sent = float(PUBLISH_TIME.search(payload)[1])  # type: ignore[index]
            if stats.latency:
                stats.latencies.append(now - sent)
            if stats.first_publish is None or sent < stats.first_publish:
                stats.first_publish = sent
        stats.received += 1
        stats.last_receive = now
        if stats.received >= stats.expected and not stats.done.done():
            stats.done.set_result(None)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.ready:
            self.stats.errors += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if values else 0


async def main(args: argparse.Namespace) -> dict[str, object]:
    stats = Stats(args.clients, args.clients * args.events, args.latency)
    headers = {"Origin": args.origin}
    if args.cookie:
        headers["Cookie"] = args.cookie
    subscribe = args.subscribe.encode() if args.subscribe else None
    transports = []
    started = time.monotonic()
    for first in range(0, args.clients, args.batch):
        batch = range(first, min(first + args.batch, args.clients))
        results = await asyncio.gather(
            *(
                ws_connect(
                    lambda: Subscriber(stats, subscribe),
                    args.url,
                    extra_headers=headers,
                    websocket_handshake_timeout=60,
                )
                for _ in batch
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                stats.errors += 1
                stats.count_settled()
            else:
                transports.append(result[0])
    await stats.settled.wait()
    connect_seconds = time.monotonic() - started
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    # No collections of the generator's own objects while events are timed:
    # they would stall it and count as server latency (see bench/chat_load.py).
    gc.collect()
    gc.disable()
    print("READY", flush=True)
    wall_before = time.monotonic()
    give_up = wall_before + args.give_up
    while True:
        try:
            await asyncio.wait_for(asyncio.shield(stats.done), timeout=args.idle)
            break
        except TimeoutError:
            waiting = stats.received == 0 and args.events and not args.hold
            if waiting and time.monotonic() < give_up:
                continue  # the publisher has not started yet
            if args.hold or time.time() - stats.last_receive >= args.idle:
                break
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    gc.enable()
    wall = time.monotonic() - wall_before
    for transport in transports:
        transport.disconnect()
    spent = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    span = stats.last_receive - (stats.first_publish or stats.last_receive)
    return {
        "clients": args.clients,
        "ready": stats.ready,
        "errors": stats.errors,
        "connect_seconds": round(connect_seconds, 2),
        "connects_per_second": round(args.clients / max(connect_seconds, 1e-9)),
        "expected": stats.expected,
        "received": stats.received,
        "deliveries_per_second": round(stats.received / span) if span > 0 else 0,
        "p50_ms": round(percentile(stats.latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(stats.latencies, 0.99) * 1000, 2),
        "generator_cpu_share": round(spent / max(wall, 1e-9), 2),
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--cookie", default="")
    parser.add_argument("--subscribe", default="", help="frame to send first")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=0, help="ticks per client")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument(
        "--give-up", type=float, default=60.0, help="seconds to wait for a first event"
    )
    parser.add_argument(
        "--hold", action="store_true", help="stay connected for --idle seconds"
    )
    return parser.parse_args()


if __name__ == "__main__":
    uvloop.install()
    result = asyncio.run(main(parse()))
    print(json.dumps(result), flush=True)
    sys.exit(0)
