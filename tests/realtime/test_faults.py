"""Faults injected for real: the hub's Redis pub/sub connection dropped mid-stream."""

import json
import re
import urllib.request
import uuid

import pytest
from django.conf import settings

from realtime import push, redis_client
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def metric(server, name: str) -> float:  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(server.http + "/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def kill_hub_connections() -> int:
    client = redis_client.sync_client()
    name = f"{settings.REALTIME_REDIS_PREFIX}:hub"
    killed = 0
    for info in client.client_list():
        if info.get("name") == name:
            killed += client.client_kill_filter(_id=info["id"])
    return killed


def test_events_published_while_the_hub_reconnects_are_refilled_in_order(server):
    topic = f"public.t{uuid.uuid4().hex[:12]}"
    with server.client() as client:
        client.subscribe(topic)
        push.publish(topic, "n", {"i": 0})
        client.events(1)
        assert kill_hub_connections() >= 1
        for i in range(1, 41):  # some land while the hub is reconnecting
            push.publish(topic, "n", {"i": i})
        events = client.events(40, timeout=15)
        assert client.no_event(0.5)
    assert [e["data"]["i"] for e in events] == list(range(1, 41))
    assert [e["offset"] for e in events] == list(range(2, 42))
    assert metric(server, "realtime_pubsub_reconnects_total") >= 1
    assert metric(server, "realtime_lagged_recovered_total") >= 1


def test_metrics_are_served_to_loopback_and_count_connections(server):
    with server.client():
        assert metric(server, "realtime_connections_open") >= 1
    assert metric(server, "realtime_events_published_total") >= 0


def test_metrics_time_each_delivery_and_count_jobs_by_state(server):
    topic = f"public.t{uuid.uuid4().hex[:12]}"
    timed = metric(server, "realtime_delivery_latency_seconds_count")
    with server.client() as client:
        client.subscribe(topic)
        push.publish(topic, "n", {"i": 1})
        client.events(1)
    assert metric(server, "realtime_delivery_latency_seconds_count") >= timed + 1
    assert metric(server, 'realtime_jobs{state="success"}') >= 0


def test_json_logs_carry_the_connection_id(make_server):
    server = make_server(DJANGO_LOG_FORMAT="json", DJANGO_LOG_LEVEL="DEBUG")
    with server.client() as client:
        connection_id = client.welcome["connection"]
    server.stop()
    log = (ROOT / "var" / f"server-{server.port}.log").read_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    opened = [r for r in records if r.get("connection") == connection_id]
    assert [r["message"] for r in opened][:1] == ["connection opened"]
    assert opened[0]["level"] == "DEBUG" and opened[0]["logger"]
