"""A process's stats snapshot reads its own metrics."""

from realtime import metrics, stats


def test_snapshot_reads_open_connections_and_delivered_frames():
    before = stats.snapshot()
    metrics.CONNECTIONS_OPEN.inc(3)
    metrics.FRAMES_DELIVERED.inc(7)
    try:
        after = stats.snapshot()
    finally:
        metrics.CONNECTIONS_OPEN.dec(3)
    assert after["connections"] - before["connections"] == 3
    assert after["delivered"] - before["delivered"] == 7
    assert after["ts"] >= before["ts"]
