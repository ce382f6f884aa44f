"""Socket tokens: signed, short-lived proof of who a socket belongs to.

Every welcome frame carries a fresh token; the client sends it back when it
reconnects (`/ws/?token=...`), so a reconnect, including a storm of them after
a deploy, costs an HMAC check instead of a session and user query. Like a
Phoenix.Token: Django's signing (SECRET_KEY, salted HMAC) with an age limit.

A live socket is trusted (logout and deactivation close it), so its pong
carries a fresh token once the last is half-way to expiry: a socket open for
hours still reconnects cheaply. A token outlives nothing it should not: logout
and deactivation write a revocation marker (kept for the token lifetime) that
connection admission compares with the token's authentication time. Staff
rights and names are those of the connect that began the token chain.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from realtime import redis_client
from realtime.push import SESSION_GROUP_PREFIX, user_group
from realtime.topics import Principal

SALT = "realtime.socket-token"
STAFF, GUEST = 1, 2


@dataclass(frozen=True, slots=True)
class SocketIdentity:
    """Who a socket is, and how to reach it for logout (channel-layer groups)."""

    principal: Principal
    session_group: str | None = None
    # When the session was last checked (ms): the cookie was read, or the token
    # chain that proves this identity began. Revocations compare with it.
    authenticated_ms: int = 0
    # The token that proved it, and when that token was signed (ms).
    token: str | None = None
    token_issued_ms: int = 0


def issue(identity: SocketIdentity) -> str:
    """A token for this identity, valid for REALTIME_SOCKET_TOKEN_TTL seconds.

    It keeps the identity's authentication time, so a logout voids every token
    derived from that login, however often a live socket had it refreshed.
    Compact (about 130 characters): the server keeps the URL it arrived in.
    """
    principal = identity.principal
    group = identity.session_group or ""
    claims = [
        principal.user_id,
        principal.name,
        (STAFF if principal.is_staff else 0) | (GUEST if principal.is_guest else 0),
        group.removeprefix(SESSION_GROUP_PREFIX),
        int(time.time() * 1000),
        identity.authenticated_ms,
    ]
    return signing.Signer(salt=SALT).sign_object(claims)


def read(token: str) -> SocketIdentity | None:
    """The identity a token proves, or None if it is forged, garbled or expired."""
    try:
        claims = signing.Signer(salt=SALT).unsign_object(token)
        user_id, name, flags, digest, issued_ms, authenticated_ms = claims
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if not (
        (user_id is None or _is_int(user_id))
        and isinstance(name, str)
        and _is_int(flags)
        and isinstance(digest, str)
        and _is_int(issued_ms)
        and _is_int(authenticated_ms)
    ):
        return None
    if time.time() * 1000 - issued_ms > settings.REALTIME_SOCKET_TOKEN_TTL * 1000:
        return None
    principal = Principal(
        user_id=user_id,
        name=name,
        is_staff=bool(flags & STAFF),
        is_guest=bool(flags & GUEST),
    )
    return SocketIdentity(
        principal=principal,
        session_group=f"{SESSION_GROUP_PREFIX}{digest}" if digest else None,
        authenticated_ms=authenticated_ms,
        token=token,
        token_issued_ms=issued_ms,
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def revocation_key(group: str) -> str:
    """Redis key marking that tokens of this identity group are void."""
    return f"{settings.REALTIME_REDIS_PREFIX}:revoked:{group}"


def revocation_keys(identity: SocketIdentity) -> list[str]:
    """Markers that void this identity's token: its session's and its user's."""
    if identity.token is None:
        return []  # just read from the session: nothing to revoke yet
    keys = []
    if identity.session_group:
        keys.append(revocation_key(identity.session_group))
    if identity.principal.user_id is not None:
        keys.append(revocation_key(user_group(identity.principal.user_id)))
    return keys


def revoke(group: str) -> None:
    """Void every token issued so far for this identity group (logout etc.)."""
    ttl_ms = int(settings.REALTIME_SOCKET_TOKEN_TTL * 1000) + 1000
    redis_client.sync_client().set(
        revocation_key(group), int(time.time() * 1000), px=ttl_ms
    )
