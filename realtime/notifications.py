"""Notifications: stored per user (read/unread) and pushed to `user.<id>`."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from realtime import push
from realtime.models import Announcement, Level, Notification

LEVELS = {choice.value for choice in Level}


class NotifyRefused(ValueError):
    """Bad notification input (unknown level, empty title, no such user)."""


def notification_data(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "title": notification.title,
        "body": notification.body,
        "level": notification.level,
        "url": notification.url,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def _user_ids(user_or_users: Any) -> list[int]:
    items: Iterable[Any]
    if isinstance(user_or_users, (list, tuple, set)) or hasattr(user_or_users, "model"):
        items = user_or_users
    else:
        items = [user_or_users]
    ids = []
    for item in items:
        ids.append(int(item) if isinstance(item, int) else int(item.pk))
    return ids


def notify(
    user_or_users: Any,
    title: str,
    body: str = "",
    level: str = "info",
    url: str | None = None,
) -> list[Notification]:
    """Store a notification for each user and push it to them after commit.

    Accepts a user, a user id, or an iterable / queryset of either.
    """
    if level not in LEVELS:
        raise NotifyRefused(f"level must be one of {sorted(LEVELS)}")
    if not isinstance(title, str) or not title.strip():
        raise NotifyRefused("title must be a non-empty string")
    if url and not (
        (url.startswith("/") and not url.startswith("//"))
        or url.startswith(("https://", "http://"))
    ):
        raise NotifyRefused("url must be a path (/...) or an http(s) URL")
    ids = _user_ids(user_or_users)
    known = set(
        get_user_model().objects.filter(pk__in=ids).values_list("pk", flat=True)
    )
    if missing := set(ids) - known:
        raise NotifyRefused(f"no such user ids: {sorted(missing)}")
    created = []
    with transaction.atomic():
        for user_id in dict.fromkeys(ids):
            notification = Notification.objects.create(
                user_id=user_id,
                title=title[:200],
                body=body,
                level=level,
                url=(url or "")[:500],
            )
            created.append(notification)
            push.publish_on_commit(
                f"user.{user_id}",
                "notification",
                {
                    "notification": notification_data(notification),
                    "unread": unread_count(user_id),
                },
            )
    return created


def mark_read(user_id: int, ids: list[int] | None = None) -> int:
    """Mark some (or, with ids None, all) of a user's notifications read.

    Every tab of the user hears `notification.read` with the new unread count.
    """
    unread = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    with transaction.atomic():
        changed = list(unread.values_list("pk", flat=True))
        Notification.objects.filter(pk__in=changed).update(read_at=timezone.now())
        push.publish_on_commit(
            f"user.{user_id}",
            "notification.read",
            {"ids": changed, "unread": unread_count(user_id)},
        )
    return len(changed)


def announce(text: str, level: str = "info", *, by: Any = None) -> Announcement:
    """A site-wide announcement: stored, then shown as a banner on every page."""
    if level not in LEVELS:
        raise NotifyRefused(f"level must be one of {sorted(LEVELS)}")
    if not text.strip():
        raise NotifyRefused("text must not be empty")
    with transaction.atomic():
        announcement = Announcement.objects.create(
            text=text[:500], level=level, created_by=by
        )
        push.publish_on_commit(
            "broadcast",
            "announcement",
            {"id": announcement.pk, "text": announcement.text, "level": level},
        )
    return announcement
