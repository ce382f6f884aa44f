"""Hostile bytes on the wire, sent from raw sockets to both production servers
started with bin/serve: oversize and malformed frames, broken handshakes."""

import base64
import os
from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess
from tests.rawws import RawWebSocket

SERVER_MAX = 131072  # bin/serve's REALTIME_SERVER_MAX_MESSAGE_BYTES default


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def wire_server(request, django_db_setup) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    proc = ServerProcess(server=request.param).start()
    yield proc
    proc.stop()


def raw(server: ServerProcess) -> RawWebSocket:
    return RawWebSocket(server.ws_url, origin=server.http)


def still_serves(server: ServerProcess) -> bool:
    with server.client() as client:
        return client.request({"type": "ping"})["type"] == "pong"


def test_message_over_the_server_cap_is_closed_1009_and_others_carry_on(wire_server):
    peer = raw(wire_server)
    peer.open()
    peer.send_frame(0x1, b'"' + b"x" * SERVER_MAX + b'"')
    assert peer.close_code() == 1009
    assert still_serves(wire_server)


def test_declared_huge_length_is_refused_before_any_payload(wire_server):
    peer = raw(wire_server)
    peer.open()
    peer.send_frame(0x1, b"", length=1 << 62)  # header only: no payload follows
    assert peer.close_code() == 1009
    assert still_serves(wire_server)


def test_frame_between_app_and_server_caps_gets_too_large_and_connection_stays(
    wire_server,
):
    peer = raw(wire_server)
    peer.open()
    peer.send_frame(0x1, b'"' + b"x" * 70_000 + b'"')
    error = peer.recv_json()
    assert (error["type"], error["code"]) == ("error", "too_large")
    peer.send_json({"type": "ping", "ref": 1})
    assert peer.recv_json() == {"type": "pong", "ref": 1}


def test_invalid_utf8_text_frame_is_closed_1007(wire_server):
    peer = raw(wire_server)
    peer.open()
    peer.send_frame(0x1, b'{"type":"ping","ref":"\xff\xfe"}')
    assert peer.close_code() == 1007
    assert still_serves(wire_server)


def test_unknown_opcode_is_a_protocol_error(wire_server):
    peer = raw(wire_server)
    peer.open()
    peer.send_frame(0x3, b"reserved opcode")
    assert peer.close_code() == 1002
    assert still_serves(wire_server)


@pytest.mark.parametrize(
    "key, extra",
    [
        ("", ""),  # empty key
        ("not-base64-16-bytes", ""),
        (base64.b64encode(os.urandom(16)).decode(), "Sec-WebSocket-Version: 8\r\n"),
    ],
    ids=["empty-key", "bad-key", "old-version"],
)
def test_malformed_handshake_is_refused_without_upgrading(wire_server, key, extra):
    peer = raw(wire_server)
    head = peer.handshake(key=key, extra=extra)
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, head
    peer.close()
    assert still_serves(wire_server)


def test_garbage_instead_of_a_request_gets_no_upgrade(wire_server):
    peer = raw(wire_server)
    peer.sock.sendall(b"\x16\x03\x01\x02\x00garbage that is not http\r\n\r\n")
    try:
        answer = peer.sock.recv(1024)
    except ConnectionError:
        answer = b""
    assert not answer.startswith(b"HTTP/1.1 101")
    peer.close()
    assert still_serves(wire_server)
