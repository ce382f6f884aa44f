"""Churn soak: clients connect and disconnect all the time while stable clients
receive a numbered stream and sometimes reconnect with `since`.

Proves zero gaps, zero duplicates after recovery, and flat server RSS. CI runs
a 20-second version; `bin/test -m slow` runs the 3-minute one.
"""

import asyncio
import json
import random
import time
import uuid

import psutil
import pytest
from websockets.asyncio.client import connect

from realtime import push

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 40  # stream events per second
STABLE = 10
CHURNERS = 20
MiB = 1024 * 1024


class Soak:
    def __init__(self, server, seconds: float, min_churn: int) -> None:  # type: ignore[no-untyped-def]
        self.server = server
        self.seconds = seconds
        # The stream runs until both the time passed and this many clients
        # churned, so a slow machine still gets the same amount of churn.
        self.min_churn = min_churn
        self.topic = f"public.soak{uuid.uuid4().hex[:10]}"
        self.published = 0
        self.running = True
        self.churned = 0
        self.recoveries = 0
        self.rss: list[int] = []

    async def stable_client(self) -> list[int]:
        """Numbers received across reconnects; each reconnect uses `since`."""
        received: list[int] = []
        since = None
        while self.running or (received and received[-1] < self.published - 1):
            async with connect(self.server.ws_url, origin=self.server.http) as ws:  # type: ignore[arg-type]
                await ws.recv()  # welcome
                frame: dict = {"type": "subscribe", "topic": self.topic}
                if since is not None:
                    frame["since"] = since
                await ws.send(json.dumps(frame))
                stay = time.monotonic() + random.uniform(1.0, 4.0)
                while time.monotonic() < stay or not self.running:
                    try:
                        text = await asyncio.wait_for(ws.recv(), timeout=2)
                    except TimeoutError:
                        if not self.running:
                            return received
                        continue
                    message = json.loads(text)
                    if message["type"] == "subscribed" and since is not None:
                        assert message["recovered"] is True, message
                        self.recoveries += 1
                    elif message.get("event") == "n":
                        received.append(message["data"]["i"])
                        since = {"offset": message["offset"], "epoch": message["epoch"]}
                        if not self.running and received[-1] == self.published - 1:
                            return received
        return received

    async def churner(self) -> None:
        while self.running:
            ws = await connect(self.server.ws_url, origin=self.server.http)  # type: ignore[arg-type]
            await ws.recv()
            await ws.send(json.dumps({"type": "subscribe", "topic": self.topic}))
            await asyncio.sleep(random.uniform(0.05, 0.5))
            if random.random() < 0.5:
                await ws.close()
            else:
                ws.transport.abort()  # vanish without a close handshake
            self.churned += 1

    async def publisher(self, process: psutil.Process) -> None:
        started = time.monotonic()
        warm = False
        while (
            elapsed := time.monotonic() - started
        ) < self.seconds or self.churned < self.min_churn:
            await push.apublish(self.topic, "n", {"i": self.published})
            self.published += 1
            if not warm and elapsed > self.seconds / 4:
                warm = True
                self.rss.append(process.memory_info().rss)
            await asyncio.sleep(1 / RATE)
        self.running = False

    async def run(self) -> list[list[int]]:
        process = psutil.Process(self.server.process.pid)
        stable = [asyncio.create_task(self.stable_client()) for _ in range(STABLE)]
        churn = [asyncio.create_task(self.churner()) for _ in range(CHURNERS)]
        await asyncio.sleep(1.0)
        await self.publisher(process)
        await asyncio.gather(*churn, return_exceptions=True)
        received = await asyncio.wait_for(asyncio.gather(*stable), timeout=60)
        await asyncio.sleep(2.0)  # let the server finish closing churned sockets
        self.rss.append(process.memory_info().rss)
        return received


def soak(make_server, seconds: float, min_churn: int) -> Soak:  # type: ignore[no-untyped-def]
    server = make_server(REALTIME_MAX_CONNECTIONS_PER_IP="100000")
    run = Soak(server, seconds, min_churn)
    received = asyncio.run(run.run())
    expected = list(range(run.published))
    for numbers in received:
        assert numbers == expected, (len(numbers), len(expected))
    assert run.recoveries >= STABLE
    return run


def test_churn_soak_short_has_no_gaps_or_duplicates(make_server):
    run = soak(make_server, 20, min_churn=100)
    growth = run.rss[1] - run.rss[0]
    assert growth < 15 * MiB, f"server RSS grew {growth / MiB:.1f} MiB"


@pytest.mark.slow
def test_churn_soak_three_minutes_keeps_rss_flat(make_server):
    run = soak(make_server, 180, min_churn=1000)
    growth = run.rss[1] - run.rss[0]
    assert growth < 10 * MiB, f"server RSS grew {growth / MiB:.1f} MiB"
