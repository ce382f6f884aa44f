"""Prometheus metrics of the push core (served at /metrics, see views.metrics)."""

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS_OPEN = Gauge(
    "realtime_connections_open", "WebSocket connections open in this process"
)
SUBSCRIPTIONS = Gauge(
    "realtime_subscriptions", "Topic subscriptions held by this process's connections"
)
EVENTS_PUBLISHED = Counter(
    "realtime_events_published_total", "Events published from this process"
)
FRAMES_DELIVERED = Counter(
    "realtime_frames_delivered_total", "Event frames queued to local connections"
)
PUBSUB_RECONNECTS = Counter(
    "realtime_pubsub_reconnects_total",
    "Times the hub's Redis pub/sub connection was re-established",
)
LAGGED_RECOVERED = Counter(
    "realtime_lagged_recovered_total",
    "Subscriptions that missed live events and were refilled from history",
)
LAGGED_UNRECOVERABLE = Counter(
    "realtime_lagged_unrecoverable_total",
    "Subscriptions that missed events history could not cover (client told)",
)
SLOW_CONSUMER_CLOSES = Counter(
    "realtime_slow_consumer_closes_total",
    "Connections closed because their outbound queue overflowed",
)
FRAMES_DROPPED = Counter(
    "realtime_frames_dropped_total",
    "Frames discarded from overflowing outboxes (their connections were closed)",
)
DELIVERY_LATENCY = Histogram(
    "realtime_delivery_latency_seconds",
    "Time from publish to the frame being queued to this process's connections",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
