"""A raw-socket WebSocket peer for tests that must misbehave on the wire.

It can stop reading (a slow reader whose receive window stays small), send
frames the protocol forbids, or send a broken handshake.
"""

import base64
import json
import os
import socket
import struct
from typing import Any
from urllib.parse import urlparse


class RawWebSocket:
    def __init__(self, url: str, *, origin: str, receive_buffer: int | None = None):
        parsed = urlparse(url)
        self.host, self.port, self.path = parsed.hostname, parsed.port, parsed.path
        self.origin = origin
        self.sock = socket.socket()
        if receive_buffer is not None:
            # Set before connect so the TCP window stays small (no autotuning).
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect((self.host, self.port))
        self._buffer = b""

    def handshake(self, *, key: str | None = None, extra: str = "") -> bytes:
        """Send an upgrade request and return the status line and headers."""
        key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {self.origin}\r\n{extra}\r\n"
        )
        self.sock.sendall(request.encode())
        return self._read_until(b"\r\n\r\n")

    def open(self) -> dict[str, Any]:
        """Complete a valid handshake and return the welcome frame."""
        head = self.handshake()
        assert head.startswith(b"HTTP/1.1 101"), head
        return self.recv_json()

    def send_frame(self, opcode: int, payload: bytes, *, length: int | None = None):
        """Send one masked frame; `length` may lie about the payload size."""
        declared = len(payload) if length is None else length
        header = bytes([0x80 | opcode])
        if declared < 126:
            header += bytes([0x80 | declared])
        elif declared < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", declared)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", declared)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, frame: dict[str, Any]) -> None:
        self.send_frame(0x1, json.dumps(frame).encode())

    def recv_frame(self) -> tuple[int, bytes]:
        """The next frame's opcode and payload (unfragmented frames only)."""
        head = self._read_exactly(2)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        return opcode, self._read_exactly(length)

    def recv_json(self) -> dict[str, Any]:
        opcode, payload = self.recv_frame()
        assert opcode == 0x1, (opcode, payload)
        return json.loads(payload)

    def close_code(self) -> int | None:
        """Read until the close frame and return its code (None if the TCP
        connection ended without one)."""
        try:
            while True:
                opcode, payload = self.recv_frame()
                if opcode == 0x8:
                    return int(struct.unpack("!H", payload[:2])[0])
        except (ConnectionError, EOFError):
            return None

    def close(self) -> None:
        self.sock.close()

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _read_exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._fill()
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self._buffer += chunk
