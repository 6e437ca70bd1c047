"""Sign-in, sessions, CSRF, one-time key secrets and escaping of untrusted text, in a real browser."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from playwright.sync_api import Page, expect
from twilio.rest import Client

from loft.console import sessions
from loft.kit.crypto import SecretBox
from tests.console.helpers import flash, nav, shoot, sign_in
from tests.support import clients
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer


@pytest.mark.parametrize("username, password", [
    pytest.param(None, "wrong-token", id="account-sid-wrong-token"),
    pytest.param("AC" + "0" * 32, None, id="unknown-account"),
    pytest.param("SK" + "0" * 32, "secret", id="unknown-api-key"),
    pytest.param("not a sid", "x", id="not-a-sid"),
])
def test_wrong_credentials_are_refused(page: Page, account: tuple[str, str], username: str | None,
                                       password: str | None) -> None:
    sid, token = account
    page.goto("/console/signin")
    page.get_by_label("Account SID or API key SID").fill(username or sid)
    page.get_by_label("Auth token or API key secret").fill(password or token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("Those credentials were refused")
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    page.goto("/console/keys")
    expect(page).to_have_url(re.compile(r"/console/signin$"))


def test_pages_need_a_session_and_sign_out_ends_it(page: Page, account: tuple[str, str]) -> None:
    for path in ("/console", "/console/numbers", "/console/messages", "/console/phone", "/console/keys"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/console/signin$"))
    sign_in(page, *account)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "loft_console"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Lax", "/console")
    assert 11 * 3600 < cookie["expires"] - time.time() <= 12 * 3600
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/signin$"))


def test_a_tampered_session_cookie_is_not_honoured(page: Page, account: tuple[str, str], server: LoftServer) -> None:
    sign_in(page, *account)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "loft_console"]
    payload, _, signature = cookie["value"].rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    page.context.add_cookies([{"name": cookie["name"], "value": forged, "domain": cookie["domain"],
                               "path": cookie["path"]}])
    assert [c["value"] for c in page.context.cookies() if c["name"] == "loft_console"] == [forged]
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/signin$"))


def _resigned(server: LoftServer, value: str, *, age: float) -> str:
    """The session cookie ``value`` signed again by the server's own key, as if issued ``age`` seconds ago."""

    class Backdated(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age)

    box = SecretBox.load(key=None, data_dir=server.data_dir)
    key = box.derive(sessions.SIGNING_PURPOSE)
    data = URLSafeTimedSerializer(key, salt="loft.console.session").loads(value)
    return URLSafeTimedSerializer(key, salt="loft.console.session", signer=Backdated).dumps(data)


def test_a_session_expires_after_twelve_hours(page: Page, account: tuple[str, str], server: LoftServer) -> None:
    sign_in(page, *account)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "loft_console"]
    for age, signed_in in ((11.9 * 3600, True), (12.1 * 3600, False)):
        page.context.add_cookies([{"name": cookie["name"], "value": _resigned(server, cookie["value"], age=age),
                                   "domain": cookie["domain"], "path": cookie["path"]}])
        page.goto("/console")
        expect(page).to_have_url(re.compile(r"/console$" if signed_in else r"/console/signin$"))


def test_a_post_without_the_csrf_token_is_refused(page: Page, account: tuple[str, str], client: Client) -> None:
    sign_in(page, *account)
    # Same browser, same session cookie: only the form's token is missing or wrong.
    missing = page.request.post("/console/keys", form={"FriendlyName": "forged"}, max_redirects=0)
    wrong = page.request.post("/console/keys", form={"FriendlyName": "forged", "csrf_token": "guess"}, max_redirects=0)
    bought = page.request.post("/console/numbers/buy", form={"AreaCode": "415"}, max_redirects=0)
    assert (missing.status, wrong.status, bought.status) == (403, 403, 403)
    assert "CSRF check failed" in missing.text()
    assert client.keys.list() == []
    assert client.incoming_phone_numbers.list() == []
    # The real form carries the token and works.
    nav(page, "API keys")
    page.locator("#create-key").get_by_label("Friendly name").fill("real")
    page.locator("#create-key").get_by_role("button", name="Create").click()
    assert [key.friendly_name for key in client.keys.list()] == ["real"]


def test_signing_in_needs_the_csrf_token_too(page: Page, account: tuple[str, str]) -> None:
    page.goto("/console/signin")
    response = page.request.post("/console/signin", form={"username": account[0], "password": account[1]},
                                 max_redirects=0)
    assert response.status == 403
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/signin$"))


def test_a_new_api_keys_secret_is_shown_once_and_signs_in(page: Page, account: tuple[str, str], server: LoftServer,
                                                          client: Client) -> None:
    sid, _ = account
    sign_in(page, *account)
    nav(page, "API keys")
    page.locator("#create-key").get_by_label("Friendly name").fill("Laptop")
    page.locator("#create-key").get_by_role("button", name="Create").click()
    assert "Created the API key Laptop" in flash(page)
    key_sid = page.locator("#new-key-sid").inner_text()
    secret = page.locator("#new-key-secret").inner_text()
    assert re.fullmatch(r"SK[0-9a-f]{32}", key_sid) and re.fullmatch(r"[0-9a-f]{32}", secret)
    shoot(page, "keys")
    # The secret is the real one: the SDK authenticates with it.
    assert clients.sdk(server.base_url, key_sid, secret, sid).api.v2010.account.balance.fetch().account_sid == sid
    page.reload()
    expect(page.locator("#keys")).to_contain_text(key_sid)
    expect(page.locator("#new-key")).to_have_count(0)
    assert secret not in page.content()
    page.goto("/console/keys")
    assert secret not in page.content()

    # Rename it, then sign in with it: the console acts for the key's account.
    row = page.locator("#keys tbody tr", has_text=key_sid)
    row.get_by_label("New name").fill("Work laptop")
    row.get_by_role("button", name="Rename").click()
    assert client.keys(key_sid).fetch().friendly_name == "Work laptop"
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, key_sid, secret)
    expect(page.locator("#account-sid")).to_have_text(sid)

    # A key's session is a standard key's: no auth token, no subaccounts, no keys.
    token = account[1]
    assert token not in page.content()
    expect(page.locator("#auth-token")).to_contain_text("opened with an API key")
    expect(page.locator("header nav").get_by_role("link", name="API keys")).to_have_count(0)
    expect(page.locator("header nav").get_by_role("link", name="Subaccounts")).to_have_count(0)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    revealed = page.request.post("/console/reveal", form={"csrf_token": csrf})
    assert token not in revealed.text() and "cannot see the auth token" in revealed.text()
    for path in ("/console/keys", "/console/subaccounts"):
        refused = page.request.get(path)
        assert refused.status == 403 and token not in refused.text()
    minted = page.request.post("/console/keys", form={"FriendlyName": "spare", "csrf_token": csrf})
    assert token not in minted.text() and [k.sid for k in client.keys.list()] == [key_sid]

    # Deleting the key it signed in with ends the session.
    assert client.keys(key_sid).delete() is True
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    assert client.keys.list() == []


SCRIPT = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"><b>bold</b>"


def test_untrusted_text_is_shown_as_text(page: Page, account: tuple[str, str], client: Client,
                                         bot: Receiver) -> None:
    bot.answer("/xss", Answer(body="<Response><Message>&lt;script&gt;window.__pwned = 3&lt;/script&gt;</Message>"
                                   "</Response><!-- <script>window.__pwned = 4</script> -->"))
    number = client.incoming_phone_numbers.create(area_code="415", sms_url=bot.url("/xss"),
                                                  friendly_name="<i>name</i>").phone_number
    client.applications.create(friendly_name="<script>window.__pwned = 5</script>")
    sign_in(page, *account)

    page.goto(f"/console/phone?handset=%2B15550100999&number={number.replace('+', '%2B')}")
    page.locator("#composer-body").fill(SCRIPT)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble.mine .text")).to_have_text([SCRIPT])
    expect(page.locator(".bubble.theirs .text")).to_have_text(["<script>window.__pwned = 3</script>"])
    shoot(page, "phone-untrusted")
    page.reload()  # the server-rendered thread too
    expect(page.locator(".bubble.mine .text")).to_have_text([SCRIPT])
    assert page.locator(".bubble b, .bubble img, .bubble script").count() == 0

    nav(page, "Messages")
    expect(page.locator("#messages tbody tr")).to_have_count(2)
    expect(page.locator("#messages")).to_contain_text("<script>window.__pwned = 1</script>")
    page.locator("#messages tbody tr", has_text="window.__pwned = 1").get_by_role("link").click()
    expect(page.locator("#message-body")).to_have_text(SCRIPT)
    expect(page.locator("pre.response")).to_contain_text("<!-- <script>window.__pwned = 4</script> -->")
    nav(page, "Phone numbers")
    expect(page.locator("#numbers")).to_contain_text("<i>name</i>")
    nav(page, "TwiML apps")
    expect(page.locator("#apps")).to_contain_text("<script>window.__pwned = 5</script>")
    assert page.locator("main script, main b, main i, main img").count() == 0
    assert page.evaluate("window.__pwned") is None
