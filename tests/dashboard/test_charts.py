"""Live charts: record(), history then live points, the beat sampler."""

import math
import time

import pytest
from django.conf import settings

from dashboard import charts
from dashboard.tasks import sample_charts
from realtime import push, redis_client

pytestmark = pytest.mark.django_db(transaction=True)


def unique_chart() -> str:
    return f"test{time.time_ns()}"


def test_history_then_live_points_arrive_in_order(server, make_user, session_cookie):
    name = unique_chart()
    for i in range(5):
        charts.record(name, i, ts=1_000 + i)
    with server.client(cookie=session_cookie(make_user("viewer"))) as client:
        client.subscribe(f"chart.{name}", history=300)
        history = client.events(5)
        charts.record(name, {"value": 5.5}, ts=1_005)
        charts.record(name, 6, ts=1_006)
        live = client.events(2)
    points = [(e["data"]["ts"], e["data"]["values"]["value"]) for e in history + live]
    assert points == [
        (1000, 0),
        (1001, 1),
        (1002, 2),
        (1003, 3),
        (1004, 4),
        (1005, 5.5),
        (1006, 6),
    ]


def test_guests_cannot_read_charts(server):
    with server.client() as guest:
        reply = guest.request({"type": "subscribe", "topic": "chart.connections"})
        assert reply["code"] == "forbidden"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("bad name", 1),
        ("x" * 81, 1),
        ("ok", math.nan),
        ("ok", math.inf),
        ("ok", True),
        ("ok", "1"),
        ("ok", {"a": None}),
    ],
)
def test_bad_points_are_refused(name, value):
    with pytest.raises(ValueError):
        charts.record(name, value)


def test_sampler_reads_real_sources(server, make_user, session_cookie):
    with server.client(cookie=session_cookie(make_user("viewer"))) as client:
        client.subscribe("chart.connections")
        client.subscribe("chart.host")
        client.subscribe("chart.redis_memory")
        deadline = time.monotonic() + 10
        while True:  # the server process reports every REALTIME_STATS_INTERVAL
            assert sample_charts.apply().get() is True
            latest = {}
            for event in client.events(3):
                latest[event["topic"]] = event["data"]["values"]
            if latest["chart.connections"]["value"] >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert latest["chart.connections"]["value"] >= 1
    assert 0 <= latest["chart.host"]["cpu"] <= 100
    assert 0 < latest["chart.host"]["memory"] <= 100
    assert latest["chart.redis_memory"]["value"] > 0


def test_an_overrunning_sampler_does_not_pile_up(server):
    lock = push.stats_key("sampler-lock")
    client = redis_client.sync_client()
    client.set(lock, "another run", px=10_000)
    try:
        assert sample_charts.apply().get() is False  # skipped, nothing queued
    finally:
        client.delete(lock)
    assert sample_charts.apply().get() is True
    entry = settings.CELERY_BEAT_SCHEDULE["sample-charts"]
    assert entry["options"]["expires"] == entry["schedule"]  # late runs are dropped
