"""Reads for chat: who may see a room, and its messages."""

from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from chat.models import Membership, Message, Room
from realtime.topics import Principal

PAGE_SIZE = 50


def room_can_read(room: Room, principal: Principal) -> bool:
    """Public rooms: signed-in users, and guests when allowed. Private: members."""
    if not room.is_private:
        return principal.is_authenticated or bool(settings.CHAT_ALLOW_GUESTS)
    if principal.user_id is None:
        return False
    if principal.is_staff or room.owner_id == principal.user_id:
        return True
    return Membership.objects.filter(room=room, user_id=principal.user_id).exists()


def room_can_moderate(room: Room, principal: Principal) -> bool:
    return principal.is_authenticated and (
        principal.is_staff or room.owner_id == principal.user_id
    )


def rooms_visible_to(principal: Principal) -> QuerySet[Room]:
    rooms = Room.objects.annotate(member_count=Count("memberships", distinct=True))
    if principal.is_staff:
        return rooms
    if not principal.is_authenticated:
        return rooms.filter(is_private=False)
    return rooms.filter(
        Q(is_private=False)
        | Q(owner_id=principal.user_id)
        | Q(memberships__user_id=principal.user_id)
    ).distinct()


def message_data(message: Message) -> dict[str, Any]:
    """The event/API shape of a message; defined once, used by both."""
    return {
        "id": message.pk,
        "user": {"id": message.author_id, "name": message.author_name},
        "text": message.text,
        "ts": int(message.created_at.timestamp() * 1000),
    }


def messages_page(
    room: Room,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[dict[str, Any]]:
    """Up to `limit` live messages, oldest first: the newest, or before/after an id."""
    messages = Message.objects.filter(room=room, deleted_at__isnull=True)
    if after is not None:
        rows = list(messages.filter(id__gt=after).order_by("id")[:limit])
    else:
        if before is not None:
            messages = messages.filter(id__lt=before)
        rows = list(messages.order_by("-id")[:limit])[::-1]
    return [message_data(m) for m in rows]
