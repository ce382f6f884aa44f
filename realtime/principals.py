"""Who a WebSocket or HTTP caller is, as a Principal."""

import secrets
from typing import Any

from channels.db import database_sync_to_async

from realtime.topics import Principal

GUEST_SESSION_KEY = "realtime_guest_name"


def principal_for_user(user: Any) -> Principal:
    """A Principal for a Django user (anonymous users become unnamed guests)."""
    if user is not None and user.is_authenticated:
        return Principal(
            user_id=user.pk,
            name=user.get_username(),
            is_staff=bool(user.is_staff),
        )
    return Principal(user_id=None, name=new_guest_name(), is_guest=True)


def new_guest_name() -> str:
    return f"guest-{secrets.token_hex(3)}"


@database_sync_to_async
def _guest_name_from_session(session: Any) -> str | None:
    name = session.get(GUEST_SESSION_KEY) if session is not None else None
    return name if isinstance(name, str) else None


async def principal_from_scope(scope: dict[str, Any]) -> Principal:
    """The connection's Principal; a guest keeps the name its session was given."""
    principal = principal_for_user(scope.get("user"))
    if principal.is_guest:
        name = await _guest_name_from_session(scope.get("session"))
        if name:
            principal = Principal(user_id=None, name=name, is_guest=True)
    return principal
