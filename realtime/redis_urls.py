"""Redis addresses: plain URLs, Sentinel URLs, and which shard holds a topic.

A Sentinel address names the sentinels and the master they watch:

    redis+sentinel://[:password@]host:port[,host:port...]/master_name[/db]

Clients built from it ask a sentinel for the current master and follow a
failover. This module is pure (no Django) so settings can use it.
"""

import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: list[tuple[str, int]]
    master_name: str
    db: int
    password: str | None


def parse_sentinel(url: str) -> SentinelAddress | None:
    """The Sentinel address in url, or None for a plain redis:// URL."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    credentials, _, hosts = parts.netloc.rpartition("@")
    password = unquote(credentials.partition(":")[2]) or None
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.partition(":")
        sentinels.append((name, int(port) if port else DEFAULT_SENTINEL_PORT))
    path = [p for p in parts.path.split("/") if p]
    if not path or not sentinels[0][0]:
        raise ValueError(
            f"{url!r}: expected {SENTINEL_SCHEME}://host:port[,host:port]/master[/db]"
        )
    db = int(path[1]) if len(path) > 1 else 0
    return SentinelAddress(sentinels, path[0], db, password)


def channel_layer_host(url: str, **options: Any) -> dict[str, Any]:
    """A channels-redis `hosts` entry for url (Sentinel entries included)."""
    sentinel = parse_sentinel(url)
    if sentinel is None:
        return {"address": url, **options}
    return {
        "sentinels": sentinel.sentinels,
        "master_name": sentinel.master_name,
        "db": sentinel.db,
        "password": sentinel.password,
        **options,
    }


def celery_broker(url: str) -> tuple[str, dict[str, Any]]:
    """Celery's broker URL and transport options for url."""
    sentinel = parse_sentinel(url)
    if sentinel is None:
        return url, {}
    auth = f":{quote(sentinel.password, safe='')}@" if sentinel.password else ""
    broker = ";".join(
        f"sentinel://{auth}{host}:{port}/{sentinel.db}"
        for host, port in sentinel.sentinels
    )
    return broker, {"master_name": sentinel.master_name}


def shard_index(topic: str, shard_count: int) -> int:
    """Which of shard_count Redis servers holds a topic (stable across processes)."""
    if shard_count == 1:
        return 0
    return binascii.crc32(topic.encode()) % shard_count
