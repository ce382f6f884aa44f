"""Notification pages and API: the bell's data, mark-read, and POST /api/notify."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from realtime import notifications
from realtime.models import Notification
from realtime.views import api_token_refusal, json_error, parse_json_body


def _json_body(request: HttpRequest) -> Any:
    try:
        return parse_json_body(request)
    except (ValueError, RecursionError):
        return None


@require_GET
def notification_list(request: HttpRequest) -> JsonResponse:
    """The signed-in user's latest notifications and unread count (for the bell)."""
    if not request.user.is_authenticated:
        return json_error(401, "unauthorized", "log in first")
    latest = Notification.objects.filter(user_id=request.user.pk)[:20]
    return JsonResponse(
        {
            "unread": notifications.unread_count(request.user.pk),
            "notifications": [notifications.notification_data(n) for n in latest],
        }
    )


@require_POST
def notification_read(request: HttpRequest) -> JsonResponse:
    """POST {"ids": [...]} or {"all": true}; CSRF-protected (session)."""
    if not request.user.is_authenticated:
        return json_error(401, "unauthorized", "log in first")
    body = _json_body(request)
    if not isinstance(body, dict):
        return json_error(
            400, "bad_json", 'body must be {"ids": [...]} or {"all": true}'
        )
    ids = body.get("ids")
    if body.get("all") is True:
        ids = None
    elif not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        return json_error(400, "bad_json", "ids must be a list of integers")
    changed = notifications.mark_read(request.user.pk, ids)
    return JsonResponse(
        {"marked": changed, "unread": notifications.unread_count(request.user.pk)}
    )


@csrf_exempt  # token-authenticated
@require_POST
def api_notify(request: HttpRequest) -> JsonResponse:
    """POST /api/notify {"users": [ids or names], "title", "body", "level", "url"}."""
    if (refusal := api_token_refusal(request)) is not None:
        return refusal
    body = _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("users"), list):
        return json_error(400, "bad_json", 'body must have "users": [...]')
    users = body["users"]
    names = [u for u in users if isinstance(u, str)]
    ids = [u for u in users if isinstance(u, int) and not isinstance(u, bool)]
    if len(names) + len(ids) != len(users) or not users:
        return json_error(400, "bad_users", "users must be user ids or usernames")
    by_name = dict(
        get_user_model()
        .objects.filter(username__in=names)
        .values_list("username", "pk")
    )
    if missing := set(names) - set(by_name):
        return json_error(400, "bad_users", f"no such users: {sorted(missing)}")
    try:
        created = notifications.notify(
            ids + list(by_name.values()),
            body.get("title", ""),
            str(body.get("body", "")),
            str(body.get("level", "info")),
            url=body.get("url") if isinstance(body.get("url"), str) else None,
        )
    except notifications.NotifyRefused as exc:
        return json_error(400, "invalid", str(exc))
    return JsonResponse({"created": len(created)}, status=201)


@login_required
@require_GET
def notification_page(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.filter(user=request.user.pk)[:200]
    return render(request, "realtime/notifications.html", {"items": items})
