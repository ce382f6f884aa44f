"""Chat in a real headless Chromium: two windows, privacy, history, XSS."""

import uuid

import pytest
from playwright.sync_api import Page, expect

from chat import services
from chat.models import Room
from realtime.topics import Principal
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)


def open_room(context, server, slug: str) -> Page:  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(f"{server.http}/chat/{slug}/")
    expect(page.locator("#status")).to_have_text("connected")
    return page


def send(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def room_for(owner, *, private: bool = False) -> Room:  # type: ignore[no-untyped-def]
    return services.room_create(
        slug=f"b{uuid.uuid4().hex[:8]}",
        title="Design review",
        owner=owner,
        is_private=private,
    )


def test_two_browsers_in_one_room_see_each_others_messages(
    server, new_context, make_user, session_cookie
):
    alice = make_user("alice")
    room = room_for(alice)
    alice_page = open_room(new_context(session_cookie(alice)), server, room.slug)
    guest_page = open_room(new_context(), server, room.slug)
    send(alice_page, "Hello from Alice")
    expect(guest_page.locator("#messages li .text")).to_have_text(["Hello from Alice"])
    send(guest_page, "Hi Alice, guest here")
    expect(alice_page.locator("#messages li .text")).to_have_text(
        ["Hello from Alice", "Hi Alice, guest here"]
    )
    expect(alice_page.locator("#online li")).to_have_count(2)
    alice_page.fill("#text", "typing something")
    expect(guest_page.locator("#typing")).to_contain_text("alice is typing")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice_page.screenshot(path=str(SCREENSHOTS / "chat.png"))


def test_browser_in_another_room_sees_nothing(
    server, new_context, make_user, session_cookie
):
    alice = make_user("alice")
    room, other = room_for(alice), room_for(alice)
    writer = open_room(new_context(session_cookie(alice)), server, room.slug)
    bystander = open_room(new_context(), server, other.slug)
    send(writer, "only for this room")
    expect(writer.locator("#messages li .text")).to_have_text(["only for this room"])
    bystander.wait_for_timeout(500)
    expect(bystander.locator("#messages li")).to_have_count(0)


def test_private_room_refuses_a_non_member(
    server, new_context, make_user, session_cookie
):
    owner, outsider = make_user("owner"), make_user("outsider")
    room = room_for(owner, private=True)
    page = new_context(session_cookie(outsider)).new_page()
    response = page.goto(f"{server.http}/chat/{room.slug}/")
    assert response is not None and response.status == 404
    expect(page.locator("#messages")).to_have_count(0)


def test_history_shows_at_once_and_older_messages_load_on_demand(
    server, new_context, make_user
):
    owner = make_user("owner")
    room = room_for(owner)
    author = Principal(user_id=owner.pk, name="owner")
    for i in range(60):
        services.message_create(room=room, author=author, text=f"old {i}")
    page = open_room(new_context(), server, room.slug)
    items = page.locator("#messages li .text")
    expect(items).to_have_count(50)
    expect(items.first).to_have_text("old 10")
    page.click("#older")
    expect(items).to_have_count(60)
    expect(items.first).to_have_text("old 0")


def test_html_in_a_message_is_shown_as_text(
    server, new_context, make_user, session_cookie
):
    payload = "<img src=x onerror=alert(1)>"
    mallory = make_user("<b>mallory</b>")
    room = room_for(mallory)
    sender = open_room(new_context(session_cookie(mallory)), server, room.slug)
    viewer = open_room(new_context(), server, room.slug)
    dialogs: list[str] = []
    for page in (sender, viewer):
        page.on(
            "dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())
        )
    send(sender, payload)
    expect(viewer.locator("#messages li .text")).to_have_text([payload])
    expect(viewer.locator("#messages li .name")).to_have_text(["<b>mallory</b>"])
    reloaded = open_room(new_context(), server, room.slug)  # from history
    expect(reloaded.locator("#messages li .text")).to_have_text([payload])
    for page in (sender, viewer, reloaded):
        assert page.locator("#messages img, #messages b").count() == 0
    assert dialogs == []
