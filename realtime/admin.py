from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from realtime import notifications
from realtime.models import Announcement, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "title", "level", "created_at", "read_at"]
    list_filter = ["level"]
    search_fields = ["title", "user__username"]
    raw_id_fields = ["user"]


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["id", "text", "level", "created_by", "created_at"]
    readonly_fields = ["created_by"]

    def save_model(
        self, request: HttpRequest, obj: Announcement, form: Any, change: bool
    ) -> None:
        """A new announcement goes through the service, which pushes the banner."""
        if change:
            super().save_model(request, obj, form, change)
            return
        created = notifications.announce(obj.text, obj.level, by=request.user)
        obj.pk = created.pk
