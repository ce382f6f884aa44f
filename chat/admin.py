from django.contrib import admin

from chat.models import Membership, Message, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "is_private", "owner", "created_at"]
    list_filter = ["is_private"]
    search_fields = ["slug", "title"]
    inlines = [MembershipInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "room",
        "author_name",
        "short_text",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["room"]
    search_fields = ["text", "author_name"]
    raw_id_fields = ["author"]

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return message.text[:80]
