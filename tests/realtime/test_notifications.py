"""Notifications: only the addressee gets them, read state syncs, sources wired."""

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command
from django.test import Client

from chat import services as chat_services
from chat.models import Room
from dashboard import services as job_services
from realtime import notifications
from realtime.models import Notification
from realtime.topics import Principal
from tests.conftest import API_TOKEN, ROOT
from tests.dashboard.test_jobs import wait_for_state

pytestmark = pytest.mark.django_db(transaction=True)


def events_named(client, name: str, count: int = 1, timeout: float = 10):  # type: ignore[no-untyped-def]
    found = []
    while len(found) < count:
        (event,) = client.events(1, timeout=timeout)
        if event["event"] == name:
            found.append(event)
    return found


def test_only_the_addressee_receives_a_notification(server, make_user, session_cookie):
    alice, bob = make_user("alice"), make_user("bob")
    with (
        server.client(cookie=session_cookie(alice)) as a,
        server.client(cookie=session_cookie(bob)) as b,
        server.client() as guest,
    ):
        a.subscribe(f"user.{alice.pk}")
        b.subscribe(f"user.{bob.pk}")
        refused = guest.request({"type": "subscribe", "topic": f"user.{alice.pk}"})
        assert refused["code"] == "forbidden"
        notifications.notify(alice, "For Alice", "only her", "info", url="/chat/")
        (event,) = events_named(a, "notification")
        assert b.no_event(0.5)
        assert guest.no_event(0.1)
    assert event["data"]["notification"]["title"] == "For Alice"
    assert event["data"]["unread"] == 1
    assert Notification.objects.get().user_id == alice.pk


def test_marking_read_in_one_tab_updates_the_other(server, make_user, session_cookie):
    alice = make_user("alice")
    cookie = session_cookie(alice)
    first = notifications.notify(alice, "one")[0]
    notifications.notify(alice, "two")
    with server.client(cookie=cookie) as tab1, server.client(cookie=cookie) as tab2:
        tab1.subscribe(f"user.{alice.pk}")
        tab2.subscribe(f"user.{alice.pk}")
        http = Client(enforce_csrf_checks=False)
        http.force_login(alice)
        reply = http.post(
            "/api/notifications/read",
            {"ids": [first.pk]},
            content_type="application/json",
        )
        assert reply.json() == {"marked": 1, "unread": 1}
        (in_tab1,) = events_named(tab1, "notification.read")
        (in_tab2,) = events_named(tab2, "notification.read")
        http.post(
            "/api/notifications/read", {"all": True}, content_type="application/json"
        )
        (all_read,) = events_named(tab2, "notification.read")
    assert in_tab1["data"] == in_tab2["data"] == {"ids": [first.pk], "unread": 1}
    assert all_read["data"]["unread"] == 0


def test_bad_notification_input_is_refused_and_nothing_is_stored(make_user):
    alice = make_user("alice")
    for args, kwargs in [
        ((alice, ""), {}),
        ((alice, "t"), {"level": "shout"}),
        ((alice, "t"), {"url": "javascript:alert(1)"}),
        ((999_999, "t"), {}),
    ]:
        with pytest.raises(notifications.NotifyRefused):
            notifications.notify(*args, **kwargs)
    assert not Notification.objects.exists()


def test_cli_and_http_api_notify(server, make_user):
    alice = make_user("alice")
    call_command("notify", "alice", "--title", "from the CLI")
    subprocess.run(
        [sys.executable, "manage.py", "notify", "alice", "--title", "subprocess"],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
    )
    request = urllib.request.Request(
        server.http + "/api/notify",
        data=json.dumps({"users": ["alice"], "title": "over HTTP"}).encode(),
        method="POST",
    )
    request.add_header("Authorization", f"Bearer {API_TOKEN}")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    bad = urllib.request.Request(
        server.http + "/api/notify",
        data=json.dumps({"users": ["nobody"], "title": "x"}).encode(),
        method="POST",
    )
    bad.add_header("Authorization", f"Bearer {API_TOKEN}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad, timeout=10)
    assert refused.value.code == 400
    titles = sorted(
        Notification.objects.filter(user=alice).values_list("title", flat=True)
    )
    assert titles == ["from the CLI", "over HTTP", "subprocess"]


def test_a_mention_in_chat_notifies_that_user(server, make_user, session_cookie):
    alice, bob = make_user("alice"), make_user("bob")
    room, _ = Room.objects.get_or_create(slug="lobby")
    with server.client(cookie=session_cookie(bob)) as b:
        b.subscribe(f"user.{bob.pk}")
        chat_services.message_create(
            room=room,
            author=Principal(user_id=alice.pk, name="alice"),
            text="hey @bob and @nobody, look",
        )
        (event,) = events_named(b, "notification")
    assert event["data"]["notification"]["title"] == "alice mentioned you in #lobby"
    assert event["data"]["notification"]["url"] == "/chat/lobby/"


def test_a_mention_does_not_leak_a_private_room(make_user):
    owner, outsider = make_user("owner"), make_user("outsider")
    room = chat_services.room_create(slug="secret", owner=owner, is_private=True)
    chat_services.message_create(
        room=room, author=Principal(user_id=owner.pk, name="owner"), text="@outsider"
    )
    assert not Notification.objects.filter(user=outsider).exists()


def test_job_completion_notifies_its_owner(server, worker, make_user, session_cookie):
    owner = make_user("owner")
    with server.client(cookie=session_cookie(owner)) as client:
        client.subscribe(f"user.{owner.pk}")
        job, _ = job_services.start_job("test_steps", {"steps": 1}, user=owner)
        (event,) = events_named(client, "notification", timeout=30)
    assert event["data"]["notification"]["title"] == "Job test_steps finished"
    assert wait_for_state(job, "success")


def test_announcement_reaches_everyone_on_broadcast(server):
    with server.client() as guest:
        guest.subscribe("broadcast")
        call_command("announce", "Maintenance at 22:00", "--level", "warning")
        (event,) = events_named(guest, "announcement")
    assert event["data"]["text"] == "Maintenance at 22:00"
    assert event["data"]["level"] == "warning"
