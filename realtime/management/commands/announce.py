from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime import notifications


class Command(BaseCommand):
    help = "Show a site-wide announcement banner: manage.py announce TEXT"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text")
        parser.add_argument("--level", default="info")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            announcement = notifications.announce(options["text"], options["level"])
        except notifications.NotifyRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"announced #{announcement.pk}")
