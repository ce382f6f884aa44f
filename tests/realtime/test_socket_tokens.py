"""Socket tokens: reconnect without a session lookup; void after logout."""

import json
import time

import pytest
from django.core import signing
from django.test import Client, override_settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from realtime import socket_tokens
from realtime.socket_tokens import SocketIdentity
from realtime.topics import Principal

pytestmark = pytest.mark.django_db(transaction=True)


def alice_identity() -> SocketIdentity:
    principal = Principal(user_id=7, name="alice", is_staff=True)
    return SocketIdentity(
        principal, session_group="session." + "ab" * 16, authenticated_ms=1234
    )


def test_a_token_proves_the_identity_it_was_issued_for():
    identity = socket_tokens.read(socket_tokens.issue(alice_identity()))
    assert identity is not None
    assert identity.principal == alice_identity().principal
    assert identity.session_group == alice_identity().session_group
    assert identity.authenticated_ms == 1234  # kept through every renewal
    assert identity.token_issued_ms > 1234


def test_forged_garbled_expired_or_ill_typed_tokens_prove_nothing():
    token = socket_tokens.issue(alice_identity())
    assert socket_tokens.read(token[:-2] + ("A" if token[-1] != "A" else "B")) is None
    assert socket_tokens.read("not a token") is None
    assert socket_tokens.read("") is None
    with override_settings(REALTIME_SOCKET_TOKEN_TTL=-1):
        assert socket_tokens.read(token) is None
    # Signed with the right key and salt, but the claims are wrong.
    signer = signing.Signer(salt=socket_tokens.SALT)
    now_ms = int(time.time() * 1000)
    for claims in (
        {"u": 1},
        [1, "x", 0, "", now_ms],
        ["7", "x", 0, "", now_ms, now_ms],
        [True, "x", 0, "", now_ms, now_ms],
        [7, None, 0, "", now_ms, now_ms],
        [7, "x", 0, "", str(now_ms), now_ms],
        [7, "x", 0, "", now_ms, None],
    ):
        assert socket_tokens.read(signer.sign_object(claims)) is None, claims
    assert socket_tokens.read(signer.sign_object([7, "x", 0, "", now_ms, now_ms]))
    other_salt = signing.Signer().sign_object([7, "x", 0, "", now_ms, now_ms])
    assert socket_tokens.read(other_salt) is None
    assert len(token) < 140


def ws_url_with(server, token: str) -> str:  # type: ignore[no-untyped-def]
    return f"{server.ws_url}?token={token}"


def first_frame(server, token: str) -> tuple[dict[str, object], int | None]:  # type: ignore[no-untyped-def]
    """The first frame on a socket opened with only a token, and its close code."""
    with connect(ws_url_with(server, token), origin=server.http) as ws:
        frame = json.loads(ws.recv(timeout=5))
        if frame["type"] == "welcome":
            return frame, None
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        return frame, ws.close_code


def logged_in_browser(user) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    """A Django test client logged in as user (it can log out), and its cookie."""
    browser = Client()
    browser.force_login(user)
    return browser, f"sessionid={browser.cookies['sessionid'].value}"


def test_a_welcome_token_reconnects_as_the_same_user_without_a_cookie(
    server, make_user
):
    user = make_user("tokenuser")
    browser, cookie = logged_in_browser(user)
    with server.client(cookie=cookie) as first:
        token = first.welcome["token"]
        assert first.welcome["user"]["id"] == user.pk
    welcome, _ = first_frame(server, token)
    assert welcome["user"] == {"id": user.pk, "name": "tokenuser", "guest": False}
    assert welcome["token"] == token  # handed back, not renewed, on reconnect

    browser.logout()  # voids the session's tokens
    refusal, code = first_frame(server, token)
    assert refusal["code"] == "session_ended"
    assert code == 4001


def test_deactivating_a_user_voids_their_tokens(server, make_user, session_cookie):
    user = make_user("soon-gone")
    with server.client(cookie=session_cookie(user)) as client:
        token = client.welcome["token"]
    user.is_active = False
    user.save()
    refusal, code = first_frame(server, token)
    assert (refusal["code"], code) == ("session_ended", 4001)


def test_a_bad_token_falls_back_to_the_cookie(server, make_user, session_cookie):
    user = make_user("cookie-wins")
    forged = socket_tokens.issue(alice_identity())[:-3] + "xyz"
    url = ws_url_with(server, forged)
    headers = {"Cookie": session_cookie(user)}
    with connect(url, origin=server.http, additional_headers=headers) as ws:
        welcome = json.loads(ws.recv(timeout=5))
    assert welcome["user"]["id"] == user.pk


def test_a_live_socket_renews_its_token_and_logout_voids_the_renewed_one(
    make_server, make_user
):
    server = make_server(REALTIME_SOCKET_TOKEN_TTL="4")
    user = make_user("renewer")
    browser, cookie = logged_in_browser(user)
    with server.client(cookie=cookie) as client:
        first = client.welcome["token"]
        assert "token" not in client.request({"type": "ping"})  # still fresh
        time.sleep(2.1)  # past half of the 4 s lifetime
        renewed = client.request({"type": "ping"})["token"]
    assert renewed != first
    time.sleep(2.0)  # the first token has expired; the renewed one has not
    assert first_frame(server, first)[0]["user"]["guest"] is True  # cookie-less
    welcome, _ = first_frame(server, renewed)
    assert welcome["user"]["id"] == user.pk

    browser.logout()
    refusal, code = first_frame(server, renewed)
    assert (refusal["code"], code) == ("session_ended", 4001)
