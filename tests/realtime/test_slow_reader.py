"""A client that stops reading is closed (4008) without costing memory or others.

The latency side of this guarantee (healthy clients' p99 with and without a
stalled peer) is a speed goal, so it is measured in bench/slow_reader.py.
"""

import asyncio
import json
import uuid

import psutil
import pytest
from websockets.asyncio.client import connect

from realtime import push
from tests.rawws import RawWebSocket
from tests.realtime.test_faults import metric

pytestmark = pytest.mark.django_db(transaction=True)

HEALTHY = 500
EVENTS = 300
BULK = "x" * 60_000  # each bulk event is ~60 KB on the wire
MiB = 1024 * 1024


async def healthy_client(url: str, origin: str, topic: str, ready: asyncio.Event):
    """Subscribe, then return the stream numbers received, in arrival order."""
    async with connect(url, origin=origin, open_timeout=30) as ws:  # type: ignore[arg-type]
        await ws.recv()  # welcome
        await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        ready.set()
        received: list[int] = []
        while len(received) < EVENTS:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
            if frame["type"] == "event":
                received.append(frame["data"]["i"])
        return received


async def run_load(server, stream: str, bulk: str, rss: list[int]):  # type: ignore[no-untyped-def]
    """Connect the healthy clients, publish, and return what each received."""
    events = [asyncio.Event() for _ in range(HEALTHY)]
    clients = []
    for ready in events:  # connect in batches so the accept queue never overflows
        client = healthy_client(server.ws_url, server.http, stream, ready)
        clients.append(asyncio.create_task(client))
        if len(clients) % 50 == 0:
            await asyncio.gather(*(e.wait() for e in events[: len(clients)]))
    await asyncio.gather(*(e.wait() for e in events))
    rss.append(psutil.Process(server.process.pid).memory_info().rss)
    for i in range(EVENTS):
        await push.apublish(stream, "n", {"i": i})
        await push.apublish(bulk, "blob", {"blob": BULK})
    return await asyncio.gather(*clients)


@pytest.mark.parametrize("server_kind", ["daphne", "uvicorn"])
def test_stalled_reader_is_closed_while_500_others_get_every_event(
    make_server, server_kind
):
    server = make_server(server_kind, REALTIME_MAX_CONNECTIONS_PER_IP="100000")
    stream = "broadcast"  # no presence: healthy clients see only the stream
    bulk = f"public.b{uuid.uuid4().hex[:12]}"
    stalled = RawWebSocket(server.ws_url, origin=server.http, receive_buffer=4096)
    assert stalled.open()["type"] == "welcome"
    for topic in (stream, bulk):
        stalled.send_json({"type": "subscribe", "topic": topic})
        reply = stalled.recv_json()
        while reply.get("event") == "presence.join":  # its own join on bulk
            reply = stalled.recv_json()
        assert reply["type"] == "subscribed", reply
    slow_closes_before = metric(server, "realtime_slow_consumer_closes_total")
    rss: list[int] = []

    # The stalled client is sent ~18 MB it never reads.
    received = asyncio.run(run_load(server, stream, bulk, rss))

    rss_growth = psutil.Process(server.process.pid).memory_info().rss - rss[0]
    assert all(numbers == list(range(EVENTS)) for numbers in received)
    assert metric(server, "realtime_slow_consumer_closes_total") == (
        slow_closes_before + 1
    )
    assert metric(server, "realtime_frames_dropped_total") >= 1
    # 1 MiB outbox + 64 KiB transport buffer for the stalled peer plus the
    # healthy connections' working memory; far below the 18 MB an unbounded
    # buffer takes (measured without the daphne patch: see docs/reliability.md).
    assert rss_growth < 12 * MiB, f"server RSS grew {rss_growth / MiB:.1f} MiB"
    assert stalled.close_code() in (4008, None)
    stalled.close()
