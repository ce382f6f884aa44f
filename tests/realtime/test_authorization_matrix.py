"""Every topic kind × every kind of caller × subscribe / publish."""

import uuid

import pytest

from chat import services as chat_services
from dashboard.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

OK, NO = "ok", "forbidden"

# topic key -> caller -> (subscribe, publish)
EXPECTED = {
    "user": {
        "guest": (NO, NO),
        "owner": (OK, NO),
        "other": (NO, NO),
        "staff": (NO, NO),
    },
    "broadcast": {
        "guest": (OK, NO),
        "owner": (OK, NO),
        "other": (OK, NO),
        "staff": (OK, NO),
    },
    "public": {
        "guest": (OK, NO),
        "owner": (OK, OK),
        "other": (OK, OK),
        "staff": (OK, OK),
    },
    "chat_public": {
        "guest": (OK, OK),
        "owner": (OK, OK),
        "other": (OK, OK),
        "staff": (OK, OK),
    },
    "chat_private": {
        "guest": (NO, NO),
        "owner": (OK, OK),
        "other": (NO, NO),
        "staff": (OK, OK),
    },
    "task": {
        "guest": (NO, NO),
        "owner": (OK, NO),
        "other": (NO, NO),
        "staff": (OK, NO),
    },
    "jobs": {
        "guest": (NO, NO),
        "owner": (OK, NO),
        "other": (NO, NO),
        "staff": (NO, NO),
    },
    "jobs_all": {
        "guest": (NO, NO),
        "owner": (NO, NO),
        "other": (NO, NO),
        "staff": (OK, NO),
    },
    "chart": {
        "guest": (NO, NO),
        "owner": (OK, NO),
        "other": (OK, NO),
        "staff": (OK, NO),
    },
}


def outcome(reply: dict) -> str:  # type: ignore[type-arg]
    if reply["type"] in {"subscribed", "ack"}:
        return OK
    return str(reply["code"])


@pytest.mark.parametrize("caller", ["guest", "owner", "other", "staff"])
def test_authorization_matrix(caller, server, make_user, session_cookie):
    owner, other = make_user("owner"), make_user("other")
    staff = make_user("staff", staff=True)
    suffix = uuid.uuid4().hex[:8]
    public_room = chat_services.room_create(slug=f"pub{suffix}", owner=owner)
    private_room = chat_services.room_create(
        slug=f"priv{suffix}", owner=owner, is_private=True
    )
    job = Job.objects.create(kind="test_steps", params={"steps": 1}, owner=owner)
    topics = {
        "user": f"user.{owner.pk}",
        "broadcast": "broadcast",
        "public": f"public.m{suffix}",
        "chat_public": public_room.topic,
        "chat_private": private_room.topic,
        "task": job.topic,
        "jobs": f"jobs.{owner.pk}",
        "jobs_all": "jobs.all",
        "chart": "chart.connections",
    }
    user = {"guest": None, "owner": owner, "other": other, "staff": staff}[caller]
    cookie = session_cookie(user) if user is not None else None
    seen = {}
    with server.client(cookie=cookie) as client:
        for key, topic in topics.items():
            subscribed = outcome(client.request({"type": "subscribe", "topic": topic}))
            event, data = (
                ("message", {"text": "hi"})
                if key.startswith("chat")
                else (
                    "note",
                    {"n": 1},
                )
            )
            published = outcome(
                client.request(
                    {"type": "publish", "topic": topic, "event": event, "data": data}
                )
            )
            seen[key] = (subscribed, published)
    assert seen == {key: EXPECTED[key][caller] for key in topics}
