"""The servers the suite compares, how to start them, subscribe and publish.

- `project`: this project (realtime.asgi) started by bin/serve, the production
  command, on the `broadcast` topic (no presence).
- `tutorial`: bench/tutorial, the Channels tutorial's consumer pattern on
  RedisChannelLayer (group_send -> handler -> send_json per socket).
- `bare`: bench/bare_app.py, a bare ASGI app writing each Redis pub/sub frame
  straight to its local sockets.

All three run under the same server (daphne or uvicorn) with bin/serve's flags.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPS = {
    "project": "realtime.asgi:application",
    "tutorial": "bench.tutorial.asgi:application",
    "bare": "bench.bare_app:app",
}
Publish = Callable[[int], Awaitable[None]]


def tick(topic: str, i: int) -> dict[str, Any]:
    """The event every target delivers: same shape and size for all."""
    return {
        "type": "event",
        "topic": topic,
        "event": "tick",
        "data": {"t": time.time(), "i": i},
    }


@dataclass
class Running:
    app: str
    server: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, topic: str) -> str:
        if self.app == "project":
            return f"ws://127.0.0.1:{self.port}/ws/"
        return f"ws://127.0.0.1:{self.port}/ws/{topic}"

    def subscribe_frame(self, topic: str) -> str:
        if self.app == "project":
            return json.dumps({"type": "subscribe", "topic": topic})
        return ""  # the topic is in the URL

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(app: str, server: str, port: int, env: dict[str, str]) -> Running:
    """Start one target with bin/serve and wait until it answers HTTP."""
    full_env = {
        **os.environ,
        **env,
        "REALTIME_SERVER": server,
        "REALTIME_ASGI_APP": APPS[app],
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "VENV_BIN": str(Path(sys.executable).parent),
        "PYTHONPATH": str(ROOT),
    }
    extra = ["--log-level", "warning"] if server == "uvicorn" else ["-v", "0"]
    log = open(ROOT / "var" / f"bench-{app}-{server}-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(ROOT / "bin" / "serve"), *extra],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    path = "/healthz" if app == "project" else "/"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(  # noqa: S310 - loopback
                f"http://127.0.0.1:{port}{path}", timeout=2
            ):
                return Running(app, server, port, process)
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{app} under {server} did not start (see var/ logs)")


async def publisher(app: str, prefix: str, topic: str) -> Publish:
    """A coroutine function that publishes tick i to `topic` on that target."""
    if app == "project":
        from realtime import push

        async def publish_project(i: int) -> None:
            event = tick(topic, i)
            await push.apublish(topic, "tick", event["data"])

        return publish_project
    if app == "tutorial":
        from channels_redis.core import RedisChannelLayer

        layer = RedisChannelLayer(
            hosts=[os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")],
            prefix=f"{prefix}-tutorial",
        )

        async def publish_tutorial(i: int) -> None:
            message = {"type": "bench.event", "frame": tick(topic, i)}
            await layer.group_send(f"topic_{topic}", message)

        return publish_tutorial
    from redis import asyncio as aioredis

    client = aioredis.Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )

    channel = f"{prefix}-bare:{topic}"

    async def publish_bare(i: int) -> None:
        if i == 0:
            # The bare app accepts before Redis confirms its SUBSCRIBE.
            while not (await client.pubsub_numsub(channel))[0][1]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        frame = json.dumps(tick(topic, i), separators=(",", ":"))
        await client.publish(channel, frame)

    return publish_bare
