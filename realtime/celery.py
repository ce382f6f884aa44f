"""The Celery app, wired the standard Django way (settings prefixed CELERY_)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime.settings")

app = Celery("realtime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
