"""Browser tests: headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright's sync API, against a
real ``loft serve`` on SQLite and a real HTTP receiver standing in for the customer's bot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from twilio.rest import Client

from tests.conftest import make_server
from tests.support import receiver
from tests.support.browser import chromium
from tests.support.receiver import Receiver
from tests.support.server import LoftServer


@pytest.fixture(scope="module")
def loft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """One SQLite server per module (overrides the root fixture): the console reads through the same services
    on either backend."""
    started = make_server(tmp_path_factory.mktemp("console"))
    with started.running():
        yield started


@pytest.fixture(scope="module")
def server(loft: LoftServer) -> LoftServer:
    return loft


@pytest.fixture(scope="module")
def bot() -> Iterator[Receiver]:
    started = receiver.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def account(main_client: Client) -> tuple[str, str]:
    """A fresh subaccount (sid, auth token) for one test, named for the console (overrides the root fixture)."""
    created = main_client.api.accounts.create(friendly_name="Console test")
    return created.sid, created.auth_token


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, server: LoftServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose scripts must raise no error and break no CSP rule."""
    context = browser.new_context(viewport={"width": 1200, "height": 820}, base_url=server.base_url)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 4" not in message.text:  # refused requests are expected
            problems.append(f"console error: {message.text}")

    opened.on("console", on_console)
    try:
        yield opened
    finally:
        context.close()
    assert problems == []
