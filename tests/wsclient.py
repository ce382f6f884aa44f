"""A small blocking WebSocket client for tests, speaking the /ws/ protocol."""

import collections
import json
import time
from typing import Any

from websockets.sync.client import connect


class WsClient:
    def __init__(self, url: str, *, origin: str, cookie: str | None = None) -> None:
        headers = {"Cookie": cookie} if cookie else None
        # Frames that arrived while request() waited for its reply, in order.
        self._stash: collections.deque[dict[str, Any]] = collections.deque()
        self.ws = connect(
            url, origin=origin, additional_headers=headers, open_timeout=10
        ).__enter__()
        self.welcome = self.recv()
        assert self.welcome["type"] == "welcome", self.welcome
        self._ref = 0

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def send_raw(self, data: str | bytes) -> None:
        self.ws.send(data)

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        if self._stash:
            return self._stash.popleft()
        return self._recv_socket(timeout)

    def _recv_socket(self, timeout: float) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))

    def request(self, frame: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Send a frame with a fresh ref and return the reply carrying that ref."""
        self._ref += 1
        ref = f"r{self._ref}"
        self.send({**frame, "ref": ref})
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv_socket(max(0.01, deadline - time.monotonic()))
            if reply.get("ref") == ref:
                return reply
            self._stash.append(reply)

    def subscribe(self, topic: str, **extra: Any) -> dict[str, Any]:
        reply = self.request({"type": "subscribe", "topic": topic, **extra})
        assert reply["type"] == "subscribed", reply
        return reply

    def events(
        self, count: int, timeout: float = 10.0, *, presence: bool = False
    ) -> list[dict[str, Any]]:
        """The next `count` event frames; other frames (and presence) are skipped."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            frame = self.recv(timeout=max(0.01, deadline - time.monotonic()))
            if frame["type"] != "event":
                continue
            if presence or not frame["event"].startswith("presence."):
                found.append(frame)
        return found

    def no_event(self, wait: float = 0.5) -> bool:
        """True if no event frame arrives within `wait` seconds."""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.recv(timeout=left)
            except TimeoutError:
                return True
            if frame["type"] == "event" and not frame["event"].startswith("presence."):
                return False
        return True

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> "WsClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
