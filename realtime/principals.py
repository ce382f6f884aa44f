"""Who a WebSocket or HTTP caller is, as a Principal."""

import secrets
import time
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from realtime import socket_tokens
from realtime.push import session_group
from realtime.socket_tokens import SocketIdentity
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


async def identify_socket(scope: dict[str, Any]) -> SocketIdentity:
    """Who opened this socket: from its token, else from its session cookie.

    A token that is missing, forged or expired falls back to the cookie. The
    cookie path does what channels' session and auth middleware do (Django's
    session store and auth.get_user) in one database hop, and keeps the result.
    """
    token = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token")
    if token:
        identity = socket_tokens.read(token[0])
        if identity is not None:
            return identity
    cookie = next((v for k, v in scope.get("headers", ()) if k == b"cookie"), b"")
    return await _identity_from_cookie(cookie.decode("latin1"))


@database_sync_to_async
def _identity_from_cookie(cookie: str) -> SocketIdentity:
    session_key = parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return SocketIdentity(principal_for_user(None), authenticated_ms=_now_ms())
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request = HttpRequest()
    request.session = session
    principal = principal_for_user(auth.get_user(request))
    if not principal.is_guest:
        key = session.session_key
        group = session_group(key) if key else None
        return SocketIdentity(principal, group, authenticated_ms=_now_ms())
    name = session.get(GUEST_SESSION_KEY)
    if isinstance(name, str) and name:
        principal = Principal(user_id=None, name=name, is_guest=True)
    return SocketIdentity(principal, authenticated_ms=_now_ms())


def _now_ms() -> int:
    return int(time.time() * 1000)
