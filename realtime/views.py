"""HTTP views of the push core: home page, health check, publish API."""

import hmac
import json
import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from realtime import push, redis_client, topics

logger = logging.getLogger(__name__)

MAX_API_BODY_BYTES = 1024 * 1024


def json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    kinds = [
        {"name": kind.name, "pattern": kind.pattern.pattern, "about": kind.description}
        for kind in topics.registered_kinds()
    ]
    return render(request, "realtime/home.html", {"topic_kinds": kinds})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and every Redis answer, else 503; JSON either way."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    redis_servers = {"redis": redis_client.sync_client()}
    if settings.REDIS_SHARD_URLS != [settings.REDIS_URL]:
        for index, shard in enumerate(redis_client.sync_shards()):
            redis_servers[f"redis_shard_{index}"] = shard
    for name, client in redis_servers.items():
        try:
            client.ping()
            checks[name] = "ok"
        except RedisError as exc:
            checks[name] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    """Constant-time check of `Authorization: Bearer <token>`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def parse_json_body(request: HttpRequest) -> Any:
    if len(request.body) > MAX_API_BODY_BYTES:
        raise ValueError("body too large")
    return json.loads(request.body, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


LOOPBACK_ADDRESSES = {"127.0.0.1", "::1"}


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics of this process: bearer REALTIME_METRICS_TOKEN when it
    is set, otherwise loopback callers only."""
    token = settings.REALTIME_METRICS_TOKEN
    if token:
        if not bearer_token_matches(request, token):
            return json_error(401, "unauthorized", "missing or wrong bearer token")
    elif request.META.get("REMOTE_ADDR") not in LOOPBACK_ADDRESSES:
        return json_error(403, "forbidden", "metrics are served to loopback only")
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def api_token_refusal(request: HttpRequest) -> JsonResponse | None:
    """None when the request carries REALTIME_API_TOKEN; else the error to return
    (404 while no token is configured, 401 for a missing or wrong one)."""
    token = settings.REALTIME_API_TOKEN
    if not token:
        return json_error(404, "not_found", "the API is disabled")
    if not bearer_token_matches(request, token):
        return json_error(401, "unauthorized", "missing or wrong bearer token")
    return None


@csrf_exempt  # token-authenticated, not cookie-authenticated
@require_POST
def api_publish(request: HttpRequest) -> JsonResponse:
    """POST /api/publish {"topic","event","data"} with a bearer token."""
    if (refusal := api_token_refusal(request)) is not None:
        return refusal
    try:
        body = parse_json_body(request)
    except (ValueError, RecursionError):
        return json_error(400, "bad_json", "body must be a JSON object")
    if not isinstance(body, dict):
        return json_error(400, "bad_json", "body must be a JSON object")
    topic, event, data = body.get("topic"), body.get("event"), body.get("data")
    if not isinstance(event, str) or not 1 <= len(event) <= 64:
        return json_error(400, "bad_event", "event must be a 1-64 character string")
    if "data" not in body:
        return json_error(400, "bad_frame", "data is required")
    if not isinstance(topic, str):
        return json_error(400, "bad_topic", "topic must be a string")
    try:
        published = push.publish(topic, event, data)
    except push.UnknownTopic as exc:
        return json_error(400, "bad_topic", str(exc))
    except RedisError:
        logger.warning("publish to %s failed: redis unavailable", topic)
        return json_error(503, "unavailable", "Redis is unavailable; not published")
    return JsonResponse(
        {"topic": topic, "offset": published.offset, "epoch": published.epoch},
        status=202,
    )
