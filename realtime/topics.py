"""Topic registry: which app owns a topic pattern, who may subscribe or publish.

Each app registers its topic kinds in AppConfig.ready(), like a Phoenix channel's
join/handle_in. A topic that no registered kind matches is refused everywhere.
Checks and handlers are always coroutines; ones that touch the database wrap
their ORM calls in database_sync_to_async themselves, so the registry never
has to guess which kind of callable it holds.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from realtime.protocol import ProtocolError, check_topic


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is on the other end of a connection or an API call."""

    user_id: int | None
    name: str
    is_staff: bool = False
    is_guest: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def presence_key(self) -> str:
        """One person across tabs: the user id, or the guest's name."""
        return f"u{self.user_id}" if self.user_id is not None else f"g:{self.name}"


@dataclass(frozen=True)
class PublishRequest:
    """A client's publish frame, as a topic's on_publish handler sees it."""

    principal: Principal
    connection_id: str
    topic: str
    match: re.Match[str]
    event: str
    data: Any


SubscribeCheck = Callable[[Principal, re.Match[str]], Awaitable[bool]]
# Returns extra fields for the ack (e.g. the stored message's id), or None.
PublishHandler = Callable[[PublishRequest], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class TopicKind:
    """A family of topics one app owns, e.g. `chat.<slug>`."""

    name: str
    pattern: re.Pattern[str]
    can_subscribe: SubscribeCheck
    # Called for a client's publish frame; None means clients may not publish.
    on_publish: PublishHandler | None = None
    history_size: int | None = None
    history_ttl: int | None = None
    presence: bool = False
    description: str = field(default="", compare=False)

    @property
    def effective_history_size(self) -> int:
        if self.history_size is None:
            return int(settings.REALTIME_HISTORY_SIZE)
        return self.history_size

    @property
    def effective_history_ttl(self) -> int:
        if self.history_ttl is None:
            return int(settings.REALTIME_HISTORY_TTL)
        return self.history_ttl


_kinds: dict[str, TopicKind] = {}


def register(kind: TopicKind) -> TopicKind:
    """Add a topic kind; registering the same name twice replaces it."""
    _kinds[kind.name] = kind
    return kind


def registered_kinds() -> list[TopicKind]:
    return list(_kinds.values())


def resolve(topic: str) -> tuple[TopicKind, re.Match[str]]:
    """The kind that owns a topic and the match of its pattern, or bad_topic."""
    check_topic(topic)
    for kind in _kinds.values():
        match = kind.pattern.fullmatch(topic)
        if match is not None:
            return kind, match
    raise ProtocolError("bad_topic", f"no app owns topic {topic!r}", topic=topic)


async def allow_everyone(principal: Principal, match: re.Match[str]) -> bool:
    return True


async def allow_that_user(principal: Principal, match: re.Match[str]) -> bool:
    """For patterns with an `id` group: only the user with that id."""
    return principal.user_id is not None and str(principal.user_id) == match["id"]


async def allow_staff(principal: Principal, match: re.Match[str]) -> bool:
    return principal.is_staff
