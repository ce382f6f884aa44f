"""The /ws/ endpoint against a real daphne process and the real Redis."""

import json
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime import push

pytestmark = pytest.mark.django_db(transaction=True)


def unique(prefix: str = "public") -> str:
    return f"{prefix}.t{uuid.uuid4().hex[:12]}"


def test_welcome_names_the_guest_for_an_anonymous_connection(server):
    with server.client() as client:
        assert client.welcome["user"]["guest"] is True
        assert client.welcome["user"]["id"] is None
        assert client.welcome["connection"]


def test_ping_gets_pong_with_ref(server):
    with server.client() as client:
        client.send({"type": "ping", "ref": 7})
        assert client.recv() == {"type": "pong", "ref": 7}


def test_subscribe_reply_echoes_ref_and_gives_offset_and_epoch(server):
    topic = unique()
    with server.client() as client:
        client.send({"type": "subscribe", "topic": topic, "ref": "a"})
        reply = client.recv()
        assert reply["type"] == "subscribed"
        assert reply["ref"] == "a"
        assert reply["topic"] == topic
        assert reply["offset"] == 0
        assert isinstance(reply["epoch"], str) and reply["epoch"]


def test_published_data_arrives_unchanged(server):
    topic = unique()
    data = {"text": "héllo <b>", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    with server.client() as client:
        client.subscribe(topic)
        push.publish(topic, "greeting", data)
        (event,) = client.events(1)
    assert event["type"] == "event"
    assert event["topic"] == topic
    assert event["event"] == "greeting"
    assert event["data"] == data
    assert event["offset"] == 1
    assert isinstance(event["ts"], int)


def test_unsubscribe_stops_events(server):
    topic = unique()
    with server.client() as client:
        client.subscribe(topic)
        reply = client.request({"type": "unsubscribe", "topic": topic})
        assert reply == {"type": "unsubscribed", "ref": reply["ref"], "topic": topic}
        push.publish(topic, "after", {})
        assert client.no_event(0.5)


def test_signed_in_client_publish_is_acked_and_delivered_to_others(
    server, make_user, session_cookie
):
    topic = unique()
    cookie = session_cookie(make_user("alice"))
    with server.client(cookie=cookie) as alice, server.client() as watcher:
        watcher.subscribe(topic)
        reply = alice.request(
            {"type": "publish", "topic": topic, "event": "note", "data": {"x": 1}}
        )
        assert reply["type"] == "ack"
        (event,) = watcher.events(1)
        assert event["data"] == {"x": 1}


def test_guest_may_not_publish_to_public_topic(server):
    with server.client() as guest:
        reply = guest.request(
            {"type": "publish", "topic": unique(), "event": "e", "data": 1}
        )
        assert reply["code"] == "forbidden"


def test_foreign_origin_is_refused(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, origin="http://evil.example", open_timeout=5)
    assert refused.value.response.status_code == 403


def test_missing_origin_is_refused(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(server.ws_url, open_timeout=5)
    assert refused.value.response.status_code == 403


def test_raw_group_send_reaches_subscribers(server):
    topic = unique()
    with server.client() as client:
        client.subscribe(topic)
        push.send_to_group(
            topic,
            {"type": "realtime.event", "topic": topic, "event": "raw", "data": [1]},
        )
        (event,) = client.events(1)
        assert event["event"] == "raw"
        assert event["data"] == [1]


def test_bad_client_does_not_affect_other_connections(server):
    topic = unique()
    with server.client() as bad, server.client() as good:
        good.subscribe(topic)
        bad.send_raw("{not json")
        bad.send_raw(b"\x00\x01")
        bad.send_raw(json.dumps({"type": "subscribe", "topic": "x" * 500}))
        assert bad.recv()["code"] == "bad_json"
        assert bad.recv()["code"] == "bad_frame"
        assert bad.recv()["code"] == "bad_topic"
        push.publish(topic, "still", {"ok": True})
        assert good.events(1)[0]["data"] == {"ok": True}
        assert bad.request({"type": "ping"})["type"] == "pong"
