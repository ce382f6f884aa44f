"""The process inbox: one channel-layer membership per group per process."""

import asyncio
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime import push
from realtime.inbox import ProcessInbox
from realtime.layers import RealtimeChannelLayer
from realtime.push import group_name, user_group


def real_layer() -> RealtimeChannelLayer:
    return RealtimeChannelLayer(
        hosts=[settings.REDIS_URL],
        prefix=f"{settings.REALTIME_REDIS_PREFIX}:asgi",
        group_expiry=600,
    )


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def on_group_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


async def members_in_redis(layer: RealtimeChannelLayer, group: str) -> list[bytes]:
    conn = layer.connection(layer.consistent_hash(group))
    return list(await conn.zrange(layer._group_key(group), 0, -1))


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_many_members_share_one_membership_and_each_gets_the_message():
    group = group_name(f"public.i{uuid.uuid4().hex[:10]}")

    async def scenario() -> None:
        layer, sender = real_layer(), real_layer()
        inbox = ProcessInbox(layer)
        members = [Recorder() for _ in range(3)]
        for member in members:
            await inbox.add([group], member)
        assert len(await members_in_redis(layer, group)) == 1
        await sender.group_send(group, {"type": "probe", "group": group})
        await until(lambda: all(m.messages for m in members))
        assert [m.messages for m in members] == [
            [{"type": "probe", "group": group}]
        ] * 3

        await inbox.discard([group], members[0])
        assert len(await members_in_redis(layer, group)) == 1  # two still here
        for member in members[1:]:
            await inbox.discard([group], member)
        assert await members_in_redis(layer, group) == []
        await layer.close_pools()
        await sender.close_pools()

    asyncio.run(scenario())


def test_a_topic_message_without_a_group_reaches_that_topics_members():
    topic = f"public.i{uuid.uuid4().hex[:10]}"
    other = f"public.i{uuid.uuid4().hex[:10]}"

    async def scenario() -> None:
        layer, sender = real_layer(), real_layer()
        inbox = ProcessInbox(layer)
        subscriber, bystander = Recorder(), Recorder()
        await inbox.add([group_name(topic)], subscriber)
        await inbox.add([group_name(other)], bystander)
        # A producer's raw group_send carries the topic, not the group's name.
        await sender.group_send(group_name(topic), {"type": "x", "topic": topic})
        await until(lambda: subscriber.messages)
        await asyncio.sleep(0.1)
        assert subscriber.messages == [{"type": "x", "topic": topic}]
        assert bystander.messages == []
        await inbox.discard([group_name(topic)], subscriber)
        await inbox.discard([group_name(other)], bystander)
        await layer.close_pools()
        await sender.close_pools()

    asyncio.run(scenario())


def test_a_discard_never_removes_a_membership_added_after_it_began():
    group = user_group(uuid.uuid4().int % 10**9)

    async def scenario() -> None:
        layer = real_layer()
        channel = await layer.new_channel()
        emptied_at = time.time()
        await asyncio.sleep(0.01)
        await layer.group_add_many([group], channel)  # a new member, later
        await layer.group_discard_many([group], channel, before=emptied_at)
        assert await members_in_redis(layer, group) == [channel.encode()]
        await layer.group_discard_many([group], channel, before=time.time() + 1)
        assert await members_in_redis(layer, group) == []
        await layer.close_pools()

    asyncio.run(scenario())


def test_a_failed_join_leaves_no_local_member():
    group = group_name(f"public.i{uuid.uuid4().hex[:10]}")

    async def scenario() -> None:
        layer = RealtimeChannelLayer(
            hosts=["redis://127.0.0.1:1/0"], prefix="rttest-nowhere", group_expiry=60
        )
        inbox = ProcessInbox(layer)
        inbox._channel = "specific.test!nowhere"  # skip new_channel's reader
        inbox._reader = asyncio.get_running_loop().create_task(asyncio.sleep(60))
        member = Recorder()
        with pytest.raises(RedisConnectionError):
            await inbox.add([group], member)
        assert inbox.member_count(group) == 0
        inbox._reader.cancel()

    asyncio.run(scenario())


def test_one_server_process_joins_a_topic_group_once(server):
    topic = f"public.i{uuid.uuid4().hex[:10]}"
    layer = real_layer()
    with server.client() as a, server.client() as b, server.client() as c:
        for client in (a, b, c):
            client.subscribe(topic)
        members = async_to_sync(members_in_redis)(layer, group_name(topic))
        assert len(members) == 1
        # An unknown message type is ignored; the sockets stay usable.
        push.send_to_group(topic, {"type": "realtime.nonsense"})
        push.send_to_group(
            topic, {"type": "realtime.event", "topic": topic, "event": "raw"}
        )
        for client in (a, b, c):
            assert client.events(1)[0]["event"] == "raw"
    deadline = time.monotonic() + 10
    while async_to_sync(members_in_redis)(layer, group_name(topic)):
        assert time.monotonic() < deadline, "the process never left the group"
        time.sleep(0.1)


def test_an_unknown_websocket_path_is_refused(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(
            server.ws_url.replace("/ws/", "/ws/nope/"),
            origin=server.http,
            open_timeout=5,
        )
    assert refused.value.response.status_code == 403


def test_concurrent_first_joins_of_a_group_all_wait_for_redis():
    group = group_name(f"public.i{uuid.uuid4().hex[:10]}")

    async def scenario() -> None:
        layer = real_layer()
        inbox = ProcessInbox(layer)
        first, second = Recorder(), Recorder()
        joining = asyncio.get_running_loop().create_task(inbox.add([group], first))
        await asyncio.sleep(0)  # the first add is now waiting on Redis
        await inbox.add([group], second)
        assert joining.done()  # the second add waited for the first one's join
        assert len(await members_in_redis(layer, group)) == 1
        assert inbox.member_count(group) == 2
        for member in (first, second):
            await inbox.discard([group], member)
        assert await members_in_redis(layer, group) == []
        await layer.close_pools()

    asyncio.run(scenario())
