"""Who a WebSocket or HTTP caller is, as a Principal."""

import secrets
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.cookie import parse_cookie

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


async def principal_for_socket(scope: dict[str, Any]) -> tuple[Principal, str | None]:
    """The socket's Principal and login session key, from its session cookie.

    Does what channels' session and auth middleware do (Django's own session
    store and auth.get_user) in one database hop, and keeps only the result.
    """
    cookie = next((v for k, v in scope.get("headers", ()) if k == b"cookie"), b"")
    return await _principal_for_cookie(cookie.decode("latin1"))


@database_sync_to_async
def _principal_for_cookie(cookie: str) -> tuple[Principal, str | None]:
    session_key = parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return principal_for_user(None), None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request = HttpRequest()
    request.session = session
    principal = principal_for_user(auth.get_user(request))
    if not principal.is_guest:
        return principal, session.session_key
    name = session.get(GUEST_SESSION_KEY)
    if isinstance(name, str) and name:
        principal = Principal(user_id=None, name=name, is_guest=True)
    return principal, None
