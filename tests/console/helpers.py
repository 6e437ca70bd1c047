"""Helpers for the browser tests.

Screenshots of each console page: kept under test-artifacts/console/ (gitignored) on every run, and copied to
docs/screenshots/ when ``LOFT_UPDATE_SCREENSHOTS=1`` (to refresh the pictures in docs/console.md)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
DOCS = ROOT / "docs" / "screenshots"
#: The pages docs/console.md shows.
DOCS_SET = frozenset({"signin", "dashboard", "numbers-search", "number", "apps", "phone", "messages",
                      "message-inbound", "message-reply", "keys", "subaccounts", "usage",
                      "acting-as-subaccount", "services", "service", "scheduled"})


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
