"""The tutorial's consumer: group_add on connect, handler -> send_json.

This is the pattern the Channels tutorial teaches (AsyncWebsocketConsumer,
`group_send` to a group, a handler per event type that encodes JSON for its
one socket), so the benchmark shows what this project's hub saves.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.tutorial.settings")

import django  # noqa: E402

django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402


class TopicConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.group = "topic_" + self.scope["url_route"]["kwargs"]["topic"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bench_event(self, event: dict[str, object]) -> None:
        await self.send_json(event["frame"])


async def http_ok(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


application = ProtocolTypeRouter(
    {
        "http": http_ok,
        "websocket": URLRouter(
            [re_path(r"^ws/(?P<topic>[\w.-]+)$", TopicConsumer.as_asgi())]
        ),
    }
)
