"""Connection-burst check: N WebSockets connect, subscribe and receive, then the
server log is searched for Redis pool errors (channels_redis issue 422).

    .venv/bin/python bench/connect_load.py --connections 5000

Starts its own daphne process on a free port with its own Redis key prefix;
prints a JSON summary. Not part of the test suite.
"""

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
ERROR_PATTERNS = {
    "MaxConnectionsError": re.compile(r"MaxConnectionsError|Too many connections"),
    "TimeoutReading": re.compile(r"Timeout reading"),
    "Traceback": re.compile(r"Traceback"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def delete_keys(prefix: str) -> None:
    """Remove every Redis key a bench run wrote (and only those)."""
    import redis

    client = redis.Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def start_server(port: int, prefix: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only"),
        "DJANGO_DEBUG": "0",
        "REALTIME_REDIS_PREFIX": prefix,
        "REALTIME_API_TOKEN": "bench-token",
        # Every load-generator client comes from 127.0.0.1.
        "REALTIME_MAX_CONNECTIONS_PER_IP": "1000000",
    }
    bindir = Path(sys.executable).parent
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(bindir / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "realtime.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


async def open_client(url: str, origin: str, topic: str) -> websockets.ClientConnection:
    ws = await websockets.connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        open_timeout=60,
        max_queue=None,
    )
    await ws.recv()  # welcome
    await ws.send(json.dumps({"type": "subscribe", "topic": topic, "ref": 1}))
    while json.loads(await ws.recv())["type"] != "subscribed":
        pass
    return ws


async def receive_events(ws: websockets.ClientConnection, count: int) -> int:
    got = 0
    while got < count:
        frame = json.loads(await ws.recv())
        if frame["type"] == "event" and frame["event"] == "bench":
            got += 1
    return got


async def run(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    prefix = f"rtbench-{uuid.uuid4().hex[:8]}"
    log_path = ROOT / "var" / f"bench-connect-{port}.log"
    proc = start_server(port, prefix, log_path)
    url, origin = f"ws://127.0.0.1:{port}/ws/", f"http://127.0.0.1:{port}"
    topics = [f"public.bench{n}" for n in range(args.topics)]
    clients: list[websockets.ClientConnection] = []
    try:
        started = time.monotonic()
        for first in range(0, args.connections, args.batch):
            batch = range(first, min(first + args.batch, args.connections))
            clients += await asyncio.gather(
                *(open_client(url, origin, topics[n % len(topics)]) for n in batch)
            )
        connect_seconds = time.monotonic() - started
        os.environ["REALTIME_REDIS_PREFIX"] = prefix
        os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime.settings")
        import django

        django.setup()
        from realtime import push

        receivers = [
            asyncio.create_task(receive_events(ws, args.events)) for ws in clients
        ]
        for i in range(args.events):
            for topic in topics:
                await push.apublish(topic, "bench", {"i": i})
        received = sum(await asyncio.wait_for(asyncio.gather(*receivers), 120))
        for ws in clients:
            await ws.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        delete_keys(prefix)
    log_text = log_path.read_text(errors="replace")
    return {
        "connections": len(clients),
        "connect_seconds": round(connect_seconds, 2),
        "events_expected": len(clients) * args.events,
        "events_received": received,
        "log_errors": {
            name: len(pattern.findall(log_text))
            for name, pattern in ERROR_PATTERNS.items()
        },
        "server_log": str(log_path),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
