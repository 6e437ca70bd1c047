"""The console's other pages: the dashboard's snippets, number configuration, app edits, subaccounts, message
log filters, and services' errors shown as messages rather than failures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Browser, Page, expect
from twilio.rest import Client

from tests.console.helpers import flash, nav, shoot, sign_in
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer


def test_the_dashboard_snippet_points_the_sdk_at_this_server(browser: Browser, server: LoftServer,
                                                             account: tuple[str, str]) -> None:
    context = browser.new_context(base_url=server.base_url, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        sign_in(page, *account)
        expect(page.locator("#snippet-python")).to_contain_text('"your auth token"')
        page.get_by_role("button", name="Show").click()
        page.locator(".snippet", has=page.locator("#snippet-python")).get_by_role("button", name="Copy").click()
        copied = page.evaluate("navigator.clipboard.readText()")
    finally:
        context.close()
    assert copied.startswith("from twilio.rest import Client")
    setup = "\n".join(line for line in copied.splitlines() if not line.startswith(("message =", "print(")))
    scope: dict[str, object] = {}
    exec(setup, scope)  # the snippet as a person pastes it
    sdk = scope["client"]
    assert sdk.api.accounts(account[0]).fetch().friendly_name == "Console test"  # type: ignore[attr-defined]


def test_a_number_forwards_to_a_webhook_with_a_fallback(page: Page, account: tuple[str, str], client: Client,
                                                        bot: Receiver) -> None:
    bot.answer("/broken", Answer(status=500, body="oops"))
    bot.answer("/fallback", Answer(body="<Response><Message>from the fallback</Message></Response>"))
    number = client.incoming_phone_numbers.create(area_code="628")
    sign_in(page, *account)
    nav(page, "Phone numbers")
    page.get_by_role("link", name=number.phone_number).click()
    form = page.locator("#configure-number")
    form.get_by_label("Friendly name").fill("Support line")
    form.get_by_label("Webhook", exact=True).check()
    form.get_by_label("Webhook URL").fill(bot.url("/broken"))
    form.get_by_label("Primary handler fails").fill(bot.url("/fallback"))
    form.locator("select[name=SmsFallbackMethod]").select_option("GET")
    form.get_by_role("button", name="Save").click()
    assert "Saved" in flash(page)
    fetched = client.incoming_phone_numbers(number.sid).fetch()
    assert (fetched.friendly_name, fetched.sms_url, fetched.sms_fallback_url, fetched.sms_fallback_method,
            fetched.sms_application_sid) == ("Support line", bot.url("/broken"), bot.url("/fallback"), "GET", None)

    page.get_by_role("link", name="Text it from the virtual phone →").click()
    page.get_by_label("Handset number").fill("+15550100777")
    page.get_by_role("button", name="Open thread").click()
    page.locator("#composer-body").fill("help")
    page.locator("#composer-media").fill("https://example.com/cat.png")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble.theirs .text")).to_have_text(["from the fallback"])
    expect(page.locator(".bubble.mine .media a")).to_have_attribute("href", "https://example.com/cat.png")

    nav(page, "Messages")
    page.locator("#messages tbody tr", has_text="help").get_by_role("link").click()
    attempts = page.locator("article.attempt")
    expect(attempts.nth(0)).to_contain_text("HTTP 500")
    expect(attempts.nth(0)).to_contain_text("oops")
    expect(page.locator("article.attempt[data-kind=fallback]")).to_contain_text("GET")
    expect(page.locator("dl.pairs")).to_contain_text("https://example.com/cat.png")


def test_services_errors_are_shown_on_the_page(page: Page, account: tuple[str, str], client: Client) -> None:
    sign_in(page, *account)
    nav(page, "Phone numbers")
    page.locator("details summary", has_text="Or buy an exact number").click()
    page.get_by_label("Phone number", exact=True).fill("+15005550000")
    page.locator("details").get_by_role("button", name="Buy").click()
    expect(page).to_have_url(re.compile(r"/console/numbers$"))
    assert "is not available (error 21422)" in flash(page)

    page.get_by_label("Area code").fill("12")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".flash.error")).to_contain_text("AreaCode 12 is invalid (error 21451)")

    nav(page, "TwiML apps")
    form = page.locator("#create-app")
    form.get_by_label("A message comes in: request URL").fill("not a url")
    form.get_by_role("button", name="Create").click()
    assert "is not a valid http or https URL (error 20001)" in flash(page)
    assert client.applications.list() == []

    page.goto("/console/messages/SM" + "0" * 32)
    expect(page.locator(".flash.error")).to_contain_text("was not found (error 20404)")
    response = page.request.get("/console/numbers/PN" + "0" * 32)
    assert response.status == 404 and "was not found" in response.text()
    page.goto("/console/phone?handset=nonsense")
    expect(page.locator(".flash.error")).to_contain_text("is not a valid phone number")


def test_apps_are_edited_and_deleted_and_numbers_let_go_of_them(page: Page, account: tuple[str, str],
                                                                client: Client) -> None:
    app = client.applications.create(friendly_name="Old", sms_url="https://old.example.com/sms")
    number = client.incoming_phone_numbers.create(area_code="415", sms_application_sid=app.sid)
    sign_in(page, *account)
    nav(page, "TwiML apps")
    page.get_by_role("link", name="Old").click()
    expect(page.locator("main")).to_contain_text(number.phone_number)
    form = page.locator("#edit-app")
    form.get_by_label("Friendly name").fill("New")
    form.get_by_label("A message comes in: request URL").fill("https://new.example.com/sms")
    form.locator("select[name=SmsMethod]").select_option("GET")
    form.get_by_label("Message status callback").fill("https://new.example.com/status")
    shoot(page, "app")
    form.get_by_role("button", name="Save").click()
    assert "Saved New" in flash(page)
    fetched = client.applications(app.sid).fetch()
    assert (fetched.friendly_name, fetched.sms_url, fetched.sms_method, fetched.message_status_callback) == (
        "New", "https://new.example.com/sms", "GET", "https://new.example.com/status")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this app").click()
    assert "Deleted the TwiML app New" in flash(page)
    assert client.applications.list() == []
    assert client.incoming_phone_numbers(number.sid).fetch().sms_application_sid is None

    nav(page, "Phone numbers")
    page.get_by_role("link", name=number.phone_number).click()
    page.get_by_role("button", name="Release this number").click()
    assert f"Released {number.phone_number}" in flash(page)
    assert client.incoming_phone_numbers.list() == []


def test_subaccounts_are_created_renamed_suspended_and_closed(page: Page, server: LoftServer,
                                                              main_client: Client) -> None:
    sign_in(page, server.account_sid, server.auth_token)
    nav(page, "Subaccounts")
    page.locator("#create-subaccount").get_by_label("Friendly name").fill("Staging <b>team</b>")
    page.locator("#create-subaccount").get_by_role("button", name="Create").click()
    assert "Created the subaccount Staging <b>team</b>" in flash(page)
    [created] = main_client.api.accounts.list(friendly_name="Staging <b>team</b>")
    row = page.locator("#subaccounts tbody tr", has_text=created.sid)

    row.get_by_label("New name").fill("Staging")
    row.get_by_role("button", name="Rename").click()
    assert main_client.api.accounts(created.sid).fetch().friendly_name == "Staging"
    row.get_by_role("button", name="Suspend").click()
    assert "Suspended Staging" in flash(page)
    assert main_client.api.accounts(created.sid).fetch().status == "suspended"
    expect(row).to_contain_text("suspended")
    shoot(page, "subaccounts")
    row.get_by_role("button", name="Reactivate").click()
    assert main_client.api.accounts(created.sid).fetch().status == "active"
    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Close").click()
    assert "Closed Staging" in flash(page)
    assert main_client.api.accounts(created.sid).fetch().status == "closed"
    expect(row.get_by_role("button")).to_have_count(0)


def test_a_subaccount_cannot_make_subaccounts(page: Page, account: tuple[str, str]) -> None:
    sign_in(page, *account)
    nav(page, "Subaccounts")
    expect(page.locator("#create-subaccount")).to_have_count(0)
    token = page.locator("header form input[name=csrf_token]").get_attribute("value")
    assert token
    response = page.request.post("/console/subaccounts", form={"FriendlyName": "x", "csrf_token": token},
                                 max_redirects=0)
    assert response.status == 303
    page.goto(response.headers["location"])
    assert "A subaccount cannot create subaccounts" in flash(page)


def test_the_message_log_filters_by_number_status_direction_and_date(page: Page, server: LoftServer,
                                                                      account: tuple[str, str],
                                                                      client: Client) -> None:
    ours = client.incoming_phone_numbers.create(area_code="415").phone_number
    client.messages.create(to="+15550100001", from_=ours, body="to one")
    client.messages.create(to="+15550100002", from_=ours, body="to two")
    httpx.post(f"{server.base_url}/sim/v1/Handsets/+15550100003/Messages", auth=account,
               data={"To": ours, "Body": "from three"}).raise_for_status()
    sign_in(page, *account)
    nav(page, "Messages")
    rows = page.locator("#messages tbody tr")
    expect(rows).to_have_count(3)

    def show(**filters: str) -> None:
        page.goto("/console/messages?" + "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in filters.items()))

    show(number="+15550100002")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("to two")
    show(number="+15550100003", direction="inbound")
    expect(rows).to_have_count(1)
    show(number="+15550100003", direction="outbound-api")
    expect(rows).to_have_count(0)
    expect(page.locator("main")).to_contain_text("No messages match these filters")
    show(status="received")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("from three")
    today = datetime.now(UTC).date()
    show(date_from=str(today), date_to=str(today))
    expect(rows).to_have_count(3)
    show(date_from=str(today + timedelta(days=1)))
    expect(rows).to_have_count(0)
    show(date_to=str(today - timedelta(days=1)))
    expect(rows).to_have_count(0)
    show(date_from="yesterday")
    expect(page.locator(".flash.error")).to_contain_text("YYYY-MM-DD")


def test_a_numbers_status_callback_is_for_calls_and_messaging_says_where_message_callbacks_go(
        page: Page, account: tuple[str, str], client: Client) -> None:
    number = client.incoming_phone_numbers.create(area_code="415")
    sign_in(page, *account)
    nav(page, "Phone numbers")
    page.get_by_role("link", name=number.phone_number).click()
    form = page.locator("#configure-number")
    messaging = form.locator("section", has=page.get_by_role("heading", name="Messaging", exact=True))
    voice = form.locator("section", has=page.get_by_role("heading", name="Voice", exact=True))
    # A number's StatusCallback reports calls: it is not offered as a messaging setting.
    expect(messaging.get_by_label(re.compile("status callback", re.IGNORECASE))).to_have_count(0)
    expect(messaging.locator("#message-status-callbacks")).to_contain_text("each message names its own")
    expect(messaging).to_contain_text("StatusCallback")
    expect(messaging).to_contain_text("Message status callback")
    expect(voice).to_contain_text("never the status of its messages")
    voice.get_by_label("Call status callback URL").fill("https://example.com/call-status")
    shoot(page, "number-voice", full_page=True)
    form.get_by_role("button", name="Save").click()
    assert f"Saved {number.phone_number}" in flash(page)
    assert client.incoming_phone_numbers(number.sid).fetch().status_callback == "https://example.com/call-status"
    expect(page.locator("#voice").get_by_label("Call status callback URL")).to_have_value(
        "https://example.com/call-status")
