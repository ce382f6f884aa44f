"""Chat pages and the message-history API."""

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import selectors, services
from chat.models import Room
from realtime.principals import GUEST_SESSION_KEY, new_guest_name, principal_for_user
from realtime.topics import Principal


class RoomForm(forms.Form):
    slug = forms.CharField(max_length=200, label="Room name (slug)")
    title = forms.CharField(max_length=100, required=False)
    is_private = forms.BooleanField(required=False, label="Private (members only)")


def request_principal(request: HttpRequest) -> Principal:
    """The request's Principal; a guest gets a stable name kept in the session."""
    principal = principal_for_user(request.user)
    if principal.is_guest:
        name = request.session.get(GUEST_SESSION_KEY)
        if not isinstance(name, str):
            name = request.session[GUEST_SESSION_KEY] = new_guest_name()
        principal = Principal(user_id=None, name=name, is_guest=True)
    return principal


def readable_room_or_404(request: HttpRequest, slug: str) -> tuple[Room, Principal]:
    principal = request_principal(request)
    room = Room.objects.filter(slug=slug).first()
    if room is None or not selectors.room_can_read(room, principal):
        # Private rooms are indistinguishable from missing ones to outsiders.
        raise Http404("No such room")
    return room, principal


@require_http_methods(["GET", "POST"])
def room_list(request: HttpRequest) -> HttpResponse:
    principal = request_principal(request)
    form = RoomForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        if form.is_valid():
            try:
                room = services.room_create(
                    slug=form.cleaned_data["slug"],
                    title=form.cleaned_data["title"],
                    is_private=form.cleaned_data["is_private"],
                    owner=request.user,
                )
            except services.ChatRefused as refused:
                form.add_error("slug", refused.message)
            else:
                return redirect("chat-room", slug=room.slug)
    rooms = selectors.rooms_visible_to(principal)
    return render(
        request,
        "chat/room_list.html",
        {"rooms": rooms, "form": form, "principal": principal},
        status=400 if form.errors else 200,
    )


@require_GET
def room_detail(request: HttpRequest, slug: str) -> HttpResponse:
    room, principal = readable_room_or_404(request, slug)
    context = {
        "room": room,
        "principal": principal,
        "initial_messages": selectors.messages_page(room),
        "can_moderate": selectors.room_can_moderate(room, principal),
        "members": room.memberships.select_related("user").order_by("user__username"),
    }
    return render(request, "chat/room.html", context)


@login_required
@require_POST
def room_members(request: HttpRequest, slug: str) -> HttpResponse:
    room, principal = readable_room_or_404(request, slug)
    username = request.POST.get("username", "").strip()
    try:
        if request.POST.get("action") == "remove":
            services.member_remove(room=room, actor=principal, username=username)
        else:
            services.member_add(room=room, actor=principal, username=username)
    except services.ChatRefused as refused:
        flash.error(request, refused.message)
    return redirect("chat-room", slug=room.slug)


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError(name)
    return int(raw)


@require_GET
def message_history(request: HttpRequest, slug: str) -> JsonResponse:
    """GET ?before=<id> (older page) or ?after=<id> (gap fill), 50 per page."""
    principal = request_principal(request)
    room = Room.objects.filter(slug=slug).first()
    if room is None or not selectors.room_can_read(room, principal):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "no such room"}}, status=404
        )
    try:
        before, after = _int_param(request, "before"), _int_param(request, "after")
    except ValueError as bad:
        return JsonResponse(
            {"error": {"code": "bad_request", "message": f"{bad} must be an id"}},
            status=400,
        )
    page = selectors.messages_page(room, before=before, after=after)
    return JsonResponse({"room": room.slug, "messages": page})
