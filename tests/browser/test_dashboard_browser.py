"""The jobs dashboard in a real headless Chromium."""

import re
import time

import pytest
from playwright.sync_api import expect

from chat.models import Room
from chat.services import message_create
from dashboard.models import Job
from realtime.topics import Principal
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)


def open_dashboard(context, server):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.goto(f"{server.http}/dashboard/")
    return page


def test_job_started_from_the_page_reaches_100_and_a_second_browser_sees_it_at_once(
    server, worker, new_context, make_user, session_cookie
):
    cookie = session_cookie(make_user("owner"))
    page = open_dashboard(new_context(cookie), server)
    expect(page.locator("#status")).to_have_text("live")
    page.select_option("#kind", "test_steps")
    page.fill("input[name=steps]", "40")
    page.fill("input[name=pause]", "0.1")
    page.click("#start button[type=submit]")
    row = page.locator("#jobs tr").first
    expect(row.locator(".percent")).to_have_text(re.compile(r"^(1[0-9]|[2-9][0-9])"))
    job = Job.objects.get()
    # The row is written about once a second (dashboard/progress.py), so live
    # events can run ahead of it; wait until it holds some progress.
    deadline = time.monotonic() + 10
    while job.current == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        job.refresh_from_db()
    stored_then = job.current

    second = open_dashboard(new_context(cookie), server)
    shown = second.locator("#jobs tr .bar").first.get_attribute("aria-valuenow")
    assert shown is not None and float(shown) > 0  # at once, from the page itself
    assert float(shown) >= 100 * stored_then / 40 - 0.1
    expect(row.locator(".percent")).to_have_text("100% (40/40)", timeout=30000)
    expect(second.locator("#jobs tr .percent").first).to_have_text("100% (40/40)")
    expect(row.locator(".state")).to_have_text("success")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "jobs.png"))


def test_export_result_downloads_from_the_page(
    server, worker, new_context, make_user, session_cookie
):
    room, _ = Room.objects.get_or_create(slug="lobby")
    message_create(
        room=room, author=Principal(user_id=None, name="guest-a"), text="exported"
    )
    page = open_dashboard(new_context(session_cookie(make_user("owner"))), server)
    page.select_option("#kind", "chat_export")
    page.fill("input[name=room]", "lobby")
    page.click("#start button[type=submit]")
    link = page.locator("#jobs tr a.result")
    expect(link).to_be_visible(timeout=30000)
    with page.expect_download() as download_info:
        link.click()
    content = download_info.value.path().read_text(encoding="utf-8")
    assert content.splitlines()[0] == "id,time,user,text"
    assert "exported" in content
