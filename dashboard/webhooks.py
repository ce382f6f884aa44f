"""Completion callbacks: signed POSTs to a job's callback URL, SSRF-guarded."""

import hashlib
import hmac
import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

SIGNATURE_HEADER = "X-Realtime-Signature"
TIMEOUT_SECONDS = 10


class WebhookRefused(Exception):
    """The callback URL may not be called (scheme, address, or no secret)."""


def sign(body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body with REALTIME_WEBHOOK_SECRET>`."""
    key = settings.REALTIME_WEBHOOK_SECRET.encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def check_callback_url(url: str) -> None:
    """Refuse what a job must never call: non-http(s), private or loopback hosts."""
    from dashboard.services import JobRefused

    if not settings.REALTIME_WEBHOOK_SECRET:
        raise JobRefused("webhooks_disabled", "set REALTIME_WEBHOOK_SECRET first")
    try:
        resolve_public(url)
    except WebhookRefused as exc:
        raise JobRefused("bad_callback_url", str(exc)) from exc


def resolve_public(url: str) -> None:
    """Raise WebhookRefused unless every address the host resolves to is allowed."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise WebhookRefused("callback URL must be http or https with a host")
    if settings.REALTIME_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 80)
    except socket.gaierror as exc:
        raise WebhookRefused(f"cannot resolve {parsed.hostname}") from exc
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise WebhookRefused(
                f"{parsed.hostname} resolves to a private or loopback address"
            )


def post(url: str, payload: dict[str, Any]) -> int:
    """POST the payload; returns the HTTP status (raises on network errors)."""
    resolve_public(url)
    body = json.dumps(payload, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header(SIGNATURE_HEADER, sign(body))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
