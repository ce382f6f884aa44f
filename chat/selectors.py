"""Reads for chat: who may see a room, and its messages."""

from typing import Any

from django.conf import settings
from django.db import connection
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


ROOM_ACCESS_FIELDS = {"id", "slug", "is_private", "owner_id"}


def rooms_by_slug(slugs: set[str]) -> dict[str, Room]:
    """Rooms with just the fields room_can_read needs, by slug.

    One plain SELECT: on the chat write path, building the same query with the
    ORM cost twenty times the query itself (docs/performance.md).
    """
    if not slugs:
        return {}
    # Model.from_db takes the values in the model's field order.
    fields = [f for f in Room._meta.concrete_fields if f.attname in ROOM_ACCESS_FIELDS]
    columns = ", ".join(_quoted_column(f) for f in fields)
    marks = ", ".join(["%s"] * len(slugs))
    table = connection.ops.quote_name(Room._meta.db_table)
    slug = _quoted_column(Room._meta.get_field("slug"))
    # Only names from the model go into the text; the slugs are parameters.
    sql = f"SELECT {columns} FROM {table} WHERE {slug} IN ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, list(slugs))
        rows = cursor.fetchall()
    names = [f.attname for f in fields]
    rooms = (Room.from_db(connection.alias, names, row) for row in rows)
    return {room.slug: room for room in rooms}


def _quoted_column(field: Any) -> str:
    return connection.ops.quote_name(field.get_attname_column()[1])


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
