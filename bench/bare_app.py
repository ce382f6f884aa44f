"""A bare ASGI app (no Django, no Channels): the floor this project is held to.

One Redis pub/sub subscription per topic per process; every message is written
straight to each local socket's ASGI `send`. Clients connect to /ws/<topic>.
"""

import asyncio
import os

from redis import asyncio as aioredis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("BENCH_PREFIX", "rtbench")

sockets: dict[str, set] = {}  # type: ignore[type-arg]
pubsub = None
reader: asyncio.Task | None = None  # type: ignore[type-arg]


async def read_forever() -> None:
    assert pubsub is not None
    while True:
        message = await pubsub.get_message(timeout=None)
        if message is None or message["type"] != "message":
            continue
        topic = message["channel"].decode()[len(PREFIX) + 1 :]
        frame = message["data"].decode()
        for send in tuple(sockets.get(topic, ())):
            await send({"type": "websocket.send", "text": frame})


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    global pubsub, reader
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["type"] != "websocket":
        return
    topic = scope["path"].rsplit("/", 1)[-1]
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    if pubsub is None:
        pubsub = aioredis.Redis.from_url(REDIS_URL).pubsub()
        await pubsub.subscribe(f"{PREFIX}:{topic}")
        reader = asyncio.get_running_loop().create_task(read_forever())
    elif f"{PREFIX}:{topic}".encode() not in pubsub.channels:
        await pubsub.subscribe(f"{PREFIX}:{topic}")
    sockets.setdefault(topic, set()).add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sockets[topic].discard(send)
