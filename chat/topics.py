"""The `chat.<slug>` topic kind: who may join a room, and what clients may send."""

import re
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat import services
from chat.models import Room
from chat.selectors import room_can_read
from chat.writer import message_writer
from realtime import push, ratelimit, redis_client, topics
from realtime.protocol import ProtocolError
from realtime.topics import Principal, PublishRequest, TopicKind

DAY = 24 * 3600


@database_sync_to_async
def _readable_room(slug: str, principal: Principal) -> Room | None:
    room = Room.objects.filter(slug=slug).first()
    if room is None or not room_can_read(room, principal):
        return None
    return room


async def can_join_room(principal: Principal, match: re.Match[str]) -> bool:
    return await _readable_room(match["slug"], principal) is not None


async def _check_rate(request: PublishRequest) -> None:
    keys = [
        ratelimit.bucket_key("chat.user", request.principal.presence_key),
        ratelimit.bucket_key("chat.conn", request.connection_id),
    ]
    allowed = await ratelimit.take(
        keys, rate=settings.CHAT_RATE, burst=settings.CHAT_BURST
    )
    if not allowed:
        raise ProtocolError("rate_limited", "too many messages", topic=request.topic)


async def _typing(room: Room, principal: Principal) -> dict[str, Any]:
    """Announce typing, at most once per CHAT_TYPING_INTERVAL per user and room."""
    throttle = redis_client.key(room.topic, f"typing:{principal.presence_key}")
    first = await redis_client.async_shard(room.topic).set(
        throttle, 1, nx=True, px=int(settings.CHAT_TYPING_INTERVAL * 1000)
    )
    if first:
        user = {"id": principal.user_id, "name": principal.name}
        await push.apublish(room.topic, "typing", {"user": user}, ephemeral=True)
    return {"sent": bool(first)}


async def room_publish(request: PublishRequest) -> dict[str, Any]:
    """Client events in a room: `message`, `typing` and (moderators) `delete`."""
    data = request.data if isinstance(request.data, dict) else {}
    try:
        if request.event == "message":
            return await _message(request, data.get("text"))
        room = await _readable_room(request.match["slug"], request.principal)
        if room is None:
            raise services.ChatRefused("forbidden", "no access to this room")
        if request.event == "typing":
            return await _typing(room, request.principal)
        if request.event == "delete":
            await database_sync_to_async(services.message_delete)(
                room=room, message_id=data.get("id"), actor=request.principal
            )
            return {}
    except services.ChatRefused as refused:
        raise ProtocolError(
            refused.code,  # type: ignore[arg-type]  # ChatRefused uses protocol codes
            refused.message,
            topic=request.topic,
        ) from refused
    raise ProtocolError(
        "bad_frame", "chat events are message, typing, delete", topic=request.topic
    )


async def _message(request: PublishRequest, text: Any) -> dict[str, Any]:
    """Store a message and publish it (group commit, chat/writer.py)."""
    await _check_rate(request)
    message = await message_writer().store(
        slug=request.match["slug"], author=request.principal, text=text
    )
    return {"id": message.pk}


ROOM = TopicKind(
    name="chat",
    pattern=re.compile(r"chat\.(?P<slug>[a-z0-9_-]{1,50})"),
    can_subscribe=can_join_room,
    on_publish=room_publish,
    history_size=500,
    history_ttl=DAY,
    presence=True,
    description="A chat room: members (or anyone, if public) read and post.",
)


def register_chat_topics() -> None:
    topics.register(ROOM)
