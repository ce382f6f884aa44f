from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - a documented development login


class Command(BaseCommand):
    help = "Create the development login demo / demo-password if it is missing."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write("demo user exists")
            return
        user_model.objects.create_user(DEMO_USERNAME, password=DEMO_PASSWORD)
        self.stdout.write(f"created user {DEMO_USERNAME} / {DEMO_PASSWORD}")
