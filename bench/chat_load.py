"""Chat load: R rooms x U users, each user sending 0.5 messages/s that the
server stores in the database and broadcasts to the room.

Every delivery is checked off by (sender, sequence): nothing may be lost, and
the p99 time from send to each member's receipt is reported. Runs in the
suite's process with picows clients (5,500 frames/s at full size).
"""

import asyncio
import gc
import json
import random
import time
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

SEND_INTERVAL = 2.0  # seconds: 0.5 messages/s per user


class Member(WSListener):  # type: ignore[misc]
    def __init__(self, load: "ChatLoad", room: str, name: str) -> None:
        self.load, self.room, self.name = load, room, name
        self.transport: WSTransport | None = None
        self.subscribed = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        frame = {"type": "subscribe", "topic": f"chat.{self.room}"}
        transport.send(WSMsgType.TEXT, json.dumps(frame).encode())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        message = json.loads(frame.get_payload_as_bytes())
        kind = message.get("type")
        if kind == "subscribed" and not self.subscribed.done():
            self.subscribed.set_result(None)
        elif kind == "event" and message.get("event") == "message":
            sender, seq, sent = message["data"]["text"].split("|")
            self.load.received.add((self.name, sender, int(seq)))
            self.load.latencies.append(time.time() - float(sent))
        elif kind == "error":
            self.load.errors.append(message.get("code"))
            if not self.subscribed.done():
                self.subscribed.set_exception(RuntimeError(f"subscribe: {message}"))

    def send_message(self, seq: int) -> None:
        assert self.transport is not None
        text = f"{self.name}|{seq}|{time.time()}"
        frame = {
            "type": "publish",
            "topic": f"chat.{self.room}",
            "event": "message",
            "data": {"text": text},
        }
        self.transport.send(WSMsgType.TEXT, json.dumps(frame).encode())


def returning(member: Member):  # type: ignore[no-untyped-def]
    """A no-argument listener factory (picows passes arguments to others)."""
    return lambda: member


class ChatLoad:
    def __init__(self) -> None:
        self.received: set[tuple[str, str, int]] = set()
        self.latencies: list[float] = []
        self.errors: list[Any] = []
        self.sent: list[tuple[str, str, int]] = []  # (room, sender, seq)


async def run_chat(running, cookie: str, rooms: int, users: int, seconds: float):  # type: ignore[no-untyped-def]
    load = ChatLoad()
    members: list[Member] = []
    headers = {"Origin": running.origin, "Cookie": cookie}
    for n in range(rooms):
        for u in range(users):
            member = Member(load, f"room{n}", f"r{n}u{u}")
            await ws_connect(
                returning(member),
                running.url(""),
                extra_headers=headers,
                websocket_handshake_timeout=60,
            )
            members.append(member)
    await asyncio.wait_for(asyncio.gather(*(m.subscribed for m in members)), 120)

    async def sender(member: Member) -> None:
        await asyncio.sleep(random.uniform(0, SEND_INTERVAL))
        seq = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            member.send_message(seq)
            load.sent.append((member.room, member.name, seq))
            seq += 1
            await asyncio.sleep(SEND_INTERVAL)

    lags: list[float] = []
    probe = asyncio.get_running_loop().create_task(loop_lag(lags))
    # The generator's own collections of its growing receipt set stalled it
    # for up to 100 ms (generator_lag_max_ms), which the latencies counted.
    gc.collect()
    gc.disable()
    try:
        await asyncio.gather(*(sender(m) for m in members))
        await asyncio.sleep(3.0)
    finally:
        gc.enable()
        probe.cancel()
    in_room: dict[str, list[str]] = {}
    for member in members:
        in_room.setdefault(member.room, []).append(member.name)
        if member.transport is not None:
            member.transport.disconnect()
    expected = {
        (receiver, sender_name, seq)
        for room, sender_name, seq in load.sent
        for receiver in in_room[room]
    }
    ordered = sorted(load.latencies)
    p99 = percentile(ordered, 0.99)
    return {
        "rooms": rooms,
        "users_per_room": users,
        "messages_sent": len(load.sent),
        "deliveries_expected": len(expected),
        "deliveries_lost": len(expected - load.received),
        "errors": len(load.errors),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2) if ordered else 0,
        "p99_ms": round(p99 * 1000, 2),
        # How late the generator's own loop ran (5 ms probe): latency it adds.
        "generator_lag_p99_ms": round(percentile(lags, 0.99) * 1000, 2),
        "generator_lag_max_ms": round(max(lags, default=0) * 1000, 2),
    }


async def loop_lag(lags: list[float], period: float = 0.005) -> None:
    """Record how much later than asked each short sleep of this loop ends."""
    while True:
        started = time.monotonic()
        await asyncio.sleep(period)
        lags.append(max(0.0, time.monotonic() - started - period))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] if ordered else 0.0
