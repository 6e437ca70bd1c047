"""Headless Chromium for the browser tests: Debian's (Playwright's own download needs the internet)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Chromium, launched headless for as long as the block runs. Use it for a module at most: Playwright's sync
    API keeps an event loop running in this thread while it is open, which would make every later asyncio.run()
    in the session fail."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()
