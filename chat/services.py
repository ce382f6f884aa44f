"""Chat business logic: every change to rooms and messages goes through here."""

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import Membership, Message, Room, slug_validator
from chat.selectors import (
    message_data,
    room_can_moderate,
    room_can_read,
    rooms_by_slug,
)
from realtime import notifications, push
from realtime.principals import principal_for_user
from realtime.topics import Principal


class ChatRefused(Exception):
    """A chat action that is not allowed or not valid; code is a protocol code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def room_create(
    *, slug: str, owner: Any, title: str = "", is_private: bool = False
) -> Room:
    """Create a room owned by `owner`; ChatRefused for a bad or taken slug."""
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise ChatRefused("invalid", exc.messages[0]) from exc
    try:
        with transaction.atomic():
            return Room.objects.create(
                slug=slug, title=title[:100], is_private=is_private, owner=owner
            )
    except IntegrityError as exc:
        raise ChatRefused("invalid", f"a room named {slug!r} exists") from exc


def _member_target(room: Room, actor: Principal, username: str) -> Any:
    """The user an owner is inviting or removing; ChatRefused otherwise."""
    if not room_can_moderate(room, actor):
        raise ChatRefused("forbidden", "only the owner can invite or remove")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ChatRefused("invalid", f"no user named {username!r}")
    return user


def member_add(*, room: Room, actor: Principal, username: str) -> Membership:
    user = _member_target(room, actor, username)
    membership, _created = Membership.objects.get_or_create(room=room, user=user)
    return membership


def member_remove(*, room: Room, actor: Principal, username: str) -> None:
    """Remove a member and close their live subscription to the room."""
    user = _member_target(room, actor, username)
    Membership.objects.filter(room=room, user=user).delete()
    if room.is_private:
        push.revoke_on_commit(room.topic, user_id=user.pk)


def message_create(*, room: Room, author: Principal, text: Any) -> Message:
    """Store a message, then (after commit) publish it to the room's topic.

    Nothing is published unless the row was committed.
    """
    post = MessagePost(room.slug, author, message_check_text(text))
    with transaction.atomic():
        (stored,) = message_store_many([post])
        if isinstance(stored, ChatRefused):
            raise stored
        push.publish_on_commit(room.topic, "message", message_data(stored))
    return stored


@dataclass(frozen=True)
class MessagePost:
    """A message a client sent to a room, not yet stored."""

    slug: str
    author: Principal
    text: str


def message_store_many(posts: list[MessagePost]) -> list[Message | ChatRefused]:
    """Store several posts in one transaction and one INSERT, committed on return.

    Each post is checked on its own: a refused one gets its ChatRefused in its
    place and the others are stored. The caller publishes the stored messages
    (chat/writer.py); a database error stores none of them.
    """
    rooms = rooms_by_slug({post.slug for post in posts})
    results: list[Message | ChatRefused] = []
    stored: list[tuple[Message, Principal]] = []
    for post in posts:
        room = rooms.get(post.slug)
        if room is None or not room_can_read(room, post.author):
            results.append(ChatRefused("forbidden", "no access to this room"))
            continue
        message = Message(
            room=room,
            author_id=post.author.user_id,
            author_name=post.author.name,
            text=post.text,
        )
        results.append(message)
        stored.append((message, post.author))
    with transaction.atomic():
        Message.objects.bulk_create([message for message, _ in stored])
        for message, author in stored:
            _notify_mentions(message, author)
    return results


def message_check_text(text: Any) -> str:
    """The text of a message, or ChatRefused("invalid") saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ChatRefused("invalid", "message text must be a non-empty string")
    limit = settings.CHAT_MESSAGE_MAX_CHARS
    if len(text) > limit:
        raise ChatRefused("invalid", f"message text is over {limit} characters")
    return text


MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


def _notify_mentions(message: Message, author: Principal) -> None:
    """`@name` notifies that user, if they may read the room (not the author)."""
    names = set(MENTION_RE.findall(message.text))
    if not names:
        return
    room = message.room
    for user in get_user_model().objects.filter(username__in=names, is_active=True):
        if user.pk == author.user_id:
            continue
        if not room_can_read(room, principal_for_user(user)):
            continue
        notifications.notify(
            user,
            f"{author.name} mentioned you in #{room.slug}",
            message.text[:300],
            url=f"/chat/{room.slug}/",
        )


def message_delete(*, room: Room, message_id: Any, actor: Principal) -> None:
    """Soft-delete a message (owner or staff); everyone in the room is told."""
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise ChatRefused("invalid", "id must be a message id")
    if not room_can_moderate(room, actor):
        raise ChatRefused("forbidden", "only the room owner or staff can delete")
    with transaction.atomic():
        deleted = Message.objects.filter(
            room=room, pk=message_id, deleted_at__isnull=True
        ).update(deleted_at=timezone.now())
        if not deleted:
            raise ChatRefused("invalid", "no such message in this room")
        push.publish_on_commit(room.topic, "message.deleted", {"id": message_id})
