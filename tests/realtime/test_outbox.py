"""The per-connection outbox: order, queueing behind a waiting send,
overflow, and a dead socket. Pure asyncio; no server."""

import asyncio

import pytest

from realtime.outbox import Outbox

pytestmark = pytest.mark.asyncio


class FakeSocket:
    """An ASGI-like send that completes at once unless `blocked` is set."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail = False

    async def send(self, frame: str) -> None:
        if self.fail:
            raise OSError("socket closed")
        await self.writable.wait()
        self.sent.append(frame)


def outbox(socket: FakeSocket, overflows: list[int], **limits: int) -> Outbox:
    return Outbox(
        socket.send,
        limit=limits.get("limit", 100),
        max_chars=limits.get("max_chars", 10_000),
        on_overflow=lambda: overflows.append(1),
    )


async def test_frames_put_together_go_out_together_in_order():
    socket = FakeSocket()
    box = outbox(socket, [])
    for n in range(3):
        box.put(f"f{n}")
    assert socket.sent == []  # put never sends inline; the writer task does
    await asyncio.sleep(0.01)
    assert socket.sent == ["f0", "f1", "f2"]


async def test_frames_queue_behind_a_waiting_send_and_keep_their_order():
    socket, overflows = FakeSocket(), []
    box = outbox(socket, overflows)
    socket.writable.clear()
    for n in range(5):
        box.put(f"f{n}")
    await asyncio.sleep(0.01)
    assert socket.sent == []
    socket.writable.set()
    await asyncio.sleep(0.01)
    assert socket.sent == ["f0", "f1", "f2", "f3", "f4"]
    box.put("f5")
    await asyncio.sleep(0.01)
    assert socket.sent[-1] == "f5"
    assert overflows == []


@pytest.mark.parametrize("limits", [{"limit": 3}, {"max_chars": 7}])
async def test_overflow_calls_back_once_and_drops_the_rest(limits):
    socket, overflows = FakeSocket(), []
    box = outbox(socket, overflows, **limits)
    socket.writable.clear()
    box.put("f0")
    await asyncio.sleep(0.01)  # f0 is in flight, waiting for the socket
    for n in range(1, 10):
        box.put(f"f{n}")  # queue until the cap
    socket.writable.set()
    await asyncio.sleep(0.01)
    assert overflows == [1]
    assert socket.sent == ["f0"]


async def test_a_dead_socket_stops_the_outbox_without_raising_to_the_caller():
    socket = FakeSocket()
    box = outbox(socket, [])
    socket.fail = True
    box.put("lost")
    await asyncio.sleep(0.01)
    socket.fail = False
    box.put("after")
    await asyncio.sleep(0.01)
    assert socket.sent == []


async def test_close_cancels_a_waiting_send():
    socket = FakeSocket()
    box = outbox(socket, [])
    socket.writable.clear()
    box.put("f0")
    box.put("f1")
    await asyncio.sleep(0.01)
    box.close()
    socket.writable.set()
    await asyncio.sleep(0.01)
    assert socket.sent == []
