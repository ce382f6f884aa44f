"""Topic kinds the push core owns: per-user, site-wide broadcast, public topics."""

import re
from typing import Any

from realtime import push, topics
from realtime.protocol import ProtocolError
from realtime.topics import PublishRequest, TopicKind

WEEK = 7 * 24 * 3600


async def publish_as_client(request: PublishRequest) -> dict[str, Any]:
    """Relay a signed-in client's event to all subscribers (Pusher client events)."""
    if not request.principal.is_authenticated:
        raise ProtocolError("forbidden", "sign in to publish", topic=request.topic)
    published = await push.apublish(request.topic, request.event, request.data)
    return {"offset": published.offset}


USER = TopicKind(
    name="user",
    pattern=re.compile(r"user\.(?P<id>[0-9]{1,18})"),
    can_subscribe=topics.allow_that_user,
    history_size=100,
    history_ttl=WEEK,
    description="Private events for one user; only that user may subscribe.",
)
BROADCAST = TopicKind(
    name="broadcast",
    pattern=re.compile(r"broadcast"),
    can_subscribe=topics.allow_everyone,
    history_size=100,
    history_ttl=WEEK,
    description="Site-wide announcements; everyone reads, only the backend publishes.",
)
PUBLIC = TopicKind(
    name="public",
    pattern=re.compile(r"public\.[A-Za-z0-9_\-.]{1,80}"),
    can_subscribe=topics.allow_everyone,
    on_publish=publish_as_client,
    presence=True,
    description="Open topics: anyone reads, signed-in users publish; with presence.",
)


def register_builtin_topics() -> None:
    for kind in (USER, BROADCAST, PUBLIC):
        topics.register(kind)
