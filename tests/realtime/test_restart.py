"""A server process sent SIGTERM closes sockets with 1012; clients recover."""

import signal
import uuid

import pytest
from websockets.exceptions import ConnectionClosed

from chat import services as chat_services
from chat.models import Message
from realtime import push

pytestmark = pytest.mark.django_db(transaction=True)


def close_code(client) -> int | None:  # type: ignore[no-untyped-def]
    try:
        while True:
            client.ws.recv(timeout=10)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("server_kind", ["daphne", "uvicorn"])
def test_sigterm_closes_with_1012_and_clients_recover_on_another_process(
    server_kind, make_server, make_user, session_cookie
):
    owner = make_user("owner")
    room = chat_services.room_create(slug=f"r{uuid.uuid4().hex[:8]}", owner=owner)
    first = make_server(server_kind)
    with first.client(cookie=session_cookie(owner)) as client:
        subscribed = client.subscribe(room.topic)
        ack = client.request(
            {
                "type": "publish",
                "topic": room.topic,
                "event": "message",
                "data": {"text": "acknowledged before the restart"},
            }
        )
        assert ack["type"] == "ack"
        (mine,) = client.events(1)
        first.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        assert close_code(client) == 1012
    assert first.process.wait(timeout=15) is not None  # type: ignore[union-attr]
    first.process = None

    push.publish(room.topic, "message", {"id": 0, "text": "while restarting"})
    second = make_server()
    with second.client(cookie=session_cookie(owner)) as client:
        reply = client.subscribe(
            room.topic, since={"offset": mine["offset"], "epoch": subscribed["epoch"]}
        )
        assert reply["recovered"] is True
        (missed,) = client.events(1)
    assert missed["data"]["text"] == "while restarting"
    assert Message.objects.get(pk=ack["id"]).text == "acknowledged before the restart"
