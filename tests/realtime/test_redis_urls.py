"""Redis addresses: Sentinel URLs and the topic → shard mapping (pure functions)."""

import collections

import pytest

from realtime.redis_urls import (
    celery_broker,
    channel_layer_host,
    parse_sentinel,
    shard_index,
)


def test_plain_url_is_not_a_sentinel_address():
    assert parse_sentinel("redis://127.0.0.1:6379/0") is None
    assert channel_layer_host("redis://h:6379/1", max_connections=5) == {
        "address": "redis://h:6379/1",
        "max_connections": 5,
    }
    assert celery_broker("redis://h:6379/1") == ("redis://h:6379/1", {})


def test_sentinel_url_names_every_sentinel_the_master_and_the_db():
    url = "redis+sentinel://:s%40cret@s1:26380,s2/shard-a/3"
    address = parse_sentinel(url)
    assert address is not None
    assert address.sentinels == [("s1", 26380), ("s2", 26379)]
    assert (address.master_name, address.db, address.password) == (
        "shard-a",
        3,
        "s@cret",
    )
    host = channel_layer_host(url)
    assert host["master_name"] == "shard-a" and host["sentinels"] == address.sentinels
    broker, options = celery_broker(url)
    assert broker == ("sentinel://:s%40cret@s1:26380/3;sentinel://:s%40cret@s2:26379/3")
    assert options == {"master_name": "shard-a"}


def test_sentinel_url_without_master_is_refused():
    with pytest.raises(ValueError, match="master"):
        parse_sentinel("redis+sentinel://s1:26379")


def test_shard_of_a_topic_is_stable_and_topics_spread_evenly():
    topics = [f"chat.room{n}" for n in range(4000)]
    assert [shard_index(t, 4) for t in topics] == [shard_index(t, 4) for t in topics]
    counts = collections.Counter(shard_index(t, 4) for t in topics)
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 800
    assert {shard_index(t, 1) for t in topics} == {0}
