"""Rooms, memberships and messages. The database is the source of truth for chat."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

SLUG_PATTERN = r"[a-z0-9_-]{1,50}"
slug_validator = RegexValidator(
    rf"^{SLUG_PATTERN}\Z",
    "Use 1-50 lowercase letters, digits, '-' or '_'.",
    code="bad_slug",
)


class Room(models.Model):
    slug = models.CharField(max_length=50, unique=True, validators=[slug_validator])
    title = models.CharField(max_length=100, blank=True)
    is_private = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_rooms",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def topic(self) -> str:
        return f"chat.{self.slug}"

    @property
    def display_title(self) -> str:
        return self.title or self.slug


class Membership(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id}"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The name shown, kept as sent: a guest's generated name or the username.
    author_name = models.CharField(max_length=150)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["room", "id"], name="message_room_id")]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:40]}"
