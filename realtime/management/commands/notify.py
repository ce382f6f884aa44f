from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime import notifications


class Command(BaseCommand):
    help = "Notify users: manage.py notify USERNAME [USERNAME ...] --title T"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="+")
        parser.add_argument("--title", required=True)
        parser.add_argument("--body", default="")
        parser.add_argument("--level", default="info")
        parser.add_argument("--url", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        users = list(get_user_model().objects.filter(username__in=options["usernames"]))
        missing = set(options["usernames"]) - {u.get_username() for u in users}
        if missing:
            raise CommandError(f"no such users: {', '.join(sorted(missing))}")
        try:
            created = notifications.notify(
                users,
                options["title"],
                options["body"],
                options["level"],
                url=options["url"],
            )
        except notifications.NotifyRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"notified {len(created)} user(s)")
