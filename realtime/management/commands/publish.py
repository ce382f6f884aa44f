import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from realtime import push


class Command(BaseCommand):
    help = "Publish an event to a topic: manage.py publish TOPIC EVENT JSON"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("topic")
        parser.add_argument("event")
        parser.add_argument("data", help="the event's data, as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(options["data"])
        except ValueError as exc:
            raise CommandError(f"data is not valid JSON: {exc}") from exc
        try:
            published = push.publish(options["topic"], options["event"], data)
        except push.UnknownTopic as exc:
            raise CommandError(str(exc)) from exc
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable; not published ({exc})") from exc
        self.stdout.write(
            f"published {published.topic} offset={published.offset} "
            f"epoch={published.epoch}"
        )
