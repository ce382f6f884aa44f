"""Headless Chromium (Debian's package) driven by Playwright; no browser download."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's loop must be gone before other modules' tests,
    # which run their own event loops (asyncio.run, async_to_sync).
    # Playwright's sync API keeps an event loop running in the test thread; the
    # tests' own ORM calls are still plain sync code, so Django's guard is lifted
    # while the browser is open (in this process only: servers never inherit it).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    executable = shutil.which("chromium")
    assert executable, "browser tests need Debian's chromium (bin/test installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def new_context(browser: Browser, server):  # type: ignore[no-untyped-def]
    """Open isolated browser sessions, optionally logged in with a session cookie."""
    contexts: list[BrowserContext] = []

    def make(cookie: str | None = None) -> BrowserContext:
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        if cookie:
            name, _, value = cookie.partition("=")
            context.add_cookies([{"name": name, "value": value, "url": server.http}])
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
