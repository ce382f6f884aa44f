"""Close a user's live sockets when they log out or are deactivated."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save

from realtime import push


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        push.close_connections(push.session_group(session_key))


def on_user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    if not instance.is_active:
        push.close_connections(push.user_group(instance.pk))


def connect_signals() -> None:
    user_logged_out.connect(on_logout, dispatch_uid="realtime-logout")
    post_save.connect(
        on_user_saved, sender=get_user_model(), dispatch_uid="realtime-deactivate"
    )
