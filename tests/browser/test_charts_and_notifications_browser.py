"""Charts and the notification bell in a real headless Chromium."""

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from dashboard.tasks import sample_charts
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def test_chart_page_shows_points_moving(server, new_context, make_user, session_cookie):
    page = new_context(session_cookie(make_user("viewer"))).new_page()
    page.goto(f"{server.http}/dashboard/charts/")
    expect(page.locator("#status")).to_have_text("live")
    connections = page.locator("section.chart[data-chart=connections]")
    expect(connections.locator("h2")).to_have_text("Open WebSocket connections")
    for _ in range(3):
        sample_charts.apply()
    expect(connections).to_have_attribute("data-points", "3")
    before = int(connections.get_attribute("data-points") or 0)
    for _ in range(2):
        page.wait_for_timeout(300)
        sample_charts.apply()
    expect(connections).to_have_attribute("data-points", str(before + 2))
    expect(connections.locator(".current")).to_have_text("1 connections")
    expect(page.locator("section.chart[data-chart=host] .current")).to_contain_text(
        "cpu"
    )
    expect(page.locator("section.chart canvas").first).to_be_visible()
    page.reload()  # a page opened later fills from history at once
    expect(connections).to_have_attribute("data-points", str(before + 2))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "charts.png"), full_page=True)


def test_bell_counts_a_cli_notification_and_another_tab_reading_it(
    server, new_context, make_user, session_cookie
):
    make_user("alice")
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(username="alice")
    context = new_context(session_cookie(alice))
    tab1, tab2 = context.new_page(), context.new_page()
    for tab in (tab1, tab2):
        tab.goto(f"{server.http}/chat/")
        expect(tab.locator("#bell")).to_have_attribute("data-unread", "0")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "notify",
            "alice",
            "--title",
            "Build <b>42</b> done",
        ],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
    )
    for tab in (tab1, tab2):
        expect(tab.locator("#bell")).to_have_attribute("data-unread", "1")
        expect(tab.locator("#bell .count")).to_have_text("1")
    expect(tab1.locator(".toast")).to_contain_text("Build <b>42</b> done")
    tab1.screenshot(path=str(SCREENSHOTS / "notification.png"))
    tab2.click("#bell")
    expect(tab2.locator("#bell-menu li .title")).to_have_text(["Build <b>42</b> done"])
    tab2.click("#bell-menu .mark-all")
    expect(tab1.locator("#bell")).to_have_attribute("data-unread", "0")
    expect(tab1.locator("#bell .count")).to_be_hidden()


def test_announcement_banner_shows_on_every_page(server, new_context):
    page = new_context().new_page()
    page.goto(f"{server.http}/chat/")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "announce",
            "Deploy at 18:00",
            "--level",
            "warning",
        ],
        cwd=ROOT,
        env=server.env,
        check=True,
        capture_output=True,
    )
    expect(page.locator("#announcement .text")).to_have_text("Deploy at 18:00")
    page.goto(f"{server.http}/")
    expect(page.locator("#announcement .text")).to_have_text("Deploy at 18:00")
