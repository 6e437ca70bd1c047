"""Helpers for the browser tests.

Screenshots of each console page: kept under test-artifacts/console/ (gitignored) on every run, and copied to
docs/screenshots/ when ``LOFT_UPDATE_SCREENSHOTS=1`` (to refresh the pictures in docs/console.md)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from loft.config import Settings
from loft.db.engine import open_database
from loft.delivery.carriers import sim as carrier
from loft.messages import service as messages
from tests.support.server import LoftServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
DOCS = ROOT / "docs" / "screenshots"
#: The pages docs/console.md shows.
DOCS_SET = frozenset({"signin", "dashboard", "numbers-search", "number", "apps", "phone", "messages",
                      "message-inbound", "message-reply", "keys", "subaccounts", "usage",
                      "acting-as-subaccount", "services", "service", "scheduled", "phone-rcs-card",
                      "phone-rcs-carousel"})


def shoot(page: Page, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("LOFT_UPDATE_SCREENSHOTS") == "1" and name in DOCS_SET:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"console-{name}.png")
    return path


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    page.get_by_label("Account SID or API key SID").fill(username)
    page.get_by_label("Auth token or API key secret").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console$"))


def flash(page: Page) -> str:
    return page.locator(".flash").first.inner_text()


def nav(page: Page, label: str) -> None:
    """Follow a link of the console's top navigation."""
    page.locator("header nav").get_by_role("link", name=label, exact=True).click()


def deliver_rcs(server: LoftServer, account_sid: str, agent: str, handset: str, content: dict[str, Any] | None,
                body: str = "") -> str:
    """Put an RCS message with ``content`` of the test's choosing in ``handset``'s inbox, as a send over RCS stores
    it: a message from the ``rcs:`` sender ``agent``, stored with Loft's own function and ``content`` under the
    simulator carrier's content option; Loft's worker sends it, and the simulator carrier's
    ``SimCarrier.hand_over_in`` writes the inbox row (channel ``rcs``, the content). For content that sending a
    template cannot give (hostile, malformed, a list picker); the SDK's ``content_sid`` is the real path. Its SID.

    Run in a thread of its own: Playwright's sync API keeps an event loop running in the test's thread."""
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url)

    async def store() -> str:
        db = open_database(settings.resolved_database_url)
        try:
            async with db.write() as conn:
                message = await messages.store(
                    conn, settings, account_sid=account_sid, direction="outbound-api", from_=agent, to=handset,
                    body=body or "(rich content)", media_urls=[], mms=False, status="queued",
                    options={carrier.CONTENT_OPTION: content})
                return str(message.sid)
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, store()).result()
