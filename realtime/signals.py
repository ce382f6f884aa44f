"""Close a user's live sockets when they log out or are deactivated."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save

from realtime import push, socket_tokens


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        group = push.session_group(session_key)
        socket_tokens.revoke(group)  # before closing: reconnects must not get in
        push.close_connections(group)


def on_user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        group = push.user_group(instance.pk)
        socket_tokens.revoke(group)
        push.close_connections(group)


def connect_signals() -> None:
    user_logged_out.connect(on_logout, dispatch_uid="realtime-logout")
    post_save.connect(
        on_user_saved, sender=get_user_model(), dispatch_uid="realtime-deactivate"
    )
