"""Console addresses that lead nowhere answer the console's HTML error page (404), with its navigation for a
signed-in person; the Twilio API's paths keep answering Twilio's JSON."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console.helpers import shoot, sign_in
from tests.support.server import LoftServer


@pytest.mark.parametrize("path", [
    pytest.param("/console/anything-unknown", id="unknown-page"),
    pytest.param("/console/numbers/PN00000000000000000000000000000000/nothing", id="unknown-subpage"),
    pytest.param("/console/messages/SM00000000000000000000000000000000", id="unknown-message"),
    pytest.param("/console/numbers/PN00000000000000000000000000000000", id="unknown-number"),
    pytest.param("/console/apps/AP00000000000000000000000000000000", id="unknown-app"),
    pytest.param("/console/static/nothing.js", id="unknown-static-file"),
])
def test_a_console_address_that_leads_nowhere_is_an_html_404(page: Page, account: tuple[str, str],
                                                             path: str) -> None:
    sign_in(page, *account)
    response = page.goto(path)
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#error-page h1")).to_have_text("Not found")
    expect(page.locator("#error-page .flash.error")).to_contain_text(
        f"The requested resource {path} was not found (error 20404)")
    expect(page.locator("header nav").get_by_role("link", name="Messages")).to_be_visible()
    shoot(page, "not-found")
    page.get_by_role("link", name="Back to the dashboard").click()
    expect(page.locator("#account-sid")).to_have_text(account[0])


def test_a_console_address_that_leads_nowhere_is_html_for_a_visitor_too(server: LoftServer) -> None:
    for method in ("GET", "POST", "DELETE"):
        answer = httpx.request(method, f"{server.base_url}/console/anything-unknown")
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html"), answer.text
        assert "Not found" in answer.text and "Sign out" not in answer.text
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    # A page that exists, with a method it does not take.
    answer = httpx.delete(f"{server.base_url}/console/numbers")
    assert answer.status_code == 405 and answer.headers["content-type"].startswith("text/html")
    assert "That did not work" in answer.text


@pytest.mark.parametrize("path", [
    pytest.param("/2010-04-01/Accounts/{sid}/Messages/SM00000000000000000000000000000000.json", id="unknown-message"),
    pytest.param("/2010-04-01/Accounts/{sid}/Nothing.json", id="unknown-resource"),
    pytest.param("/anything-unknown", id="outside-the-console"),
])
def test_the_apis_paths_keep_answering_twilio_json(server: LoftServer, account: tuple[str, str], path: str) -> None:
    answer = httpx.get(server.base_url + path.format(sid=account[0]), auth=account)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("application/json")
    assert answer.json()["code"] == 20404 and answer.json()["status"] == 404
