"""Chat's job kinds: export a room's history to CSV."""

import csv
from pathlib import Path
from typing import Any

from django.conf import settings

from chat.models import Message, Room
from dashboard.kinds import Param, job_kind
from dashboard.progress import Progress


@job_kind(
    "chat_export",
    title="Export a chat room's history to CSV",
    params={"room": Param(str, "room slug")},
)
def chat_export(progress: Progress, *, room: str) -> dict[str, Any]:
    """Writes var/media/exports/<job id>.csv; a rerun rewrites the same file."""
    chat_room = Room.objects.filter(slug=room).first()
    if chat_room is None:
        raise ValueError(f"no room {room!r}")
    messages = Message.objects.filter(room=chat_room, deleted_at__isnull=True)
    total = messages.count()
    progress.stage("writing CSV", total=total)
    relative = Path("exports") / f"{progress.job.pk}.csv"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "time", "user", "text"])
        for done, message in enumerate(messages.order_by("id").iterator(), start=1):
            progress.check_cancelled()
            writer.writerow(
                [
                    message.pk,
                    message.created_at.isoformat(),
                    message.author_name,
                    message.text,
                ]
            )
            progress.update(done)
    partial.replace(path)  # the file appears whole or not at all
    return {"file": str(relative), "rows": total, "room": room}
