"""Prometheus metrics of the push core (served at /metrics, see views.metrics)."""

from prometheus_client import Counter, Gauge

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
