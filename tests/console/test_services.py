"""Messaging Services and scheduled messages in the console: a service created, configured, pooled and deleted
through the browser (checked through the SDK's ``client.messaging``), the pool's refusals shown as messages, the
scheduled messages listed and canceled, a subaccount's services its own, and CSRF on every new form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from twilio.rest import Client

from tests.console.helpers import flash, nav, shoot, sign_in
from tests.support import clients
from tests.support.receiver import Receiver
from tests.support.server import LoftServer


def schedule_message(client: Client, service_sid: str, to: str, body: str, *, in_hours: float) -> str:
    """A message scheduled ``in_hours`` ahead through ``service_sid``, by the API."""
    return str(client.messages.create(messaging_service_sid=service_sid, to=to, body=body, schedule_type="fixed",
                                      send_at=datetime.now(UTC) + timedelta(hours=in_hours)).sid)


def test_a_service_is_created_configured_pooled_and_deleted(page: Page, account: tuple[str, str], client: Client,
                                                            bot: Receiver) -> None:
    mine = client.incoming_phone_numbers.create(area_code="415")
    taken = client.incoming_phone_numbers.create(area_code="628")
    other = client.messaging.v1.services.create(friendly_name="Other service")
    other.phone_numbers.create(phone_number_sid=taken.sid)
    sign_in(page, *account)
    nav(page, "Messaging Services")
    expect(page.locator("#services")).to_contain_text("Other service")

    form = page.locator("#create-service")
    form.get_by_label("Friendly name").fill("Reminders")
    form.get_by_label("Request URL").fill(bot.url("/inbound"))
    form.locator("select[name=InboundMethod]").select_option("GET")
    form.get_by_label("Fallback URL").fill(bot.url("/fallback"))
    form.get_by_label("Status callback URL").fill(bot.url("/status"))
    form.get_by_label("Sticky sender").uncheck()
    form.get_by_label("Validity period").fill("600")
    shoot(page, "services", full_page=True)
    form.get_by_role("button", name="Create").click()
    assert "Created the Messaging Service Reminders" in flash(page)
    expect(page).to_have_url(re.compile(r"/console/services/MG[0-9a-f]{32}$"))
    sid = page.locator("#service-sid").inner_text()
    created = client.messaging.v1.services(sid).fetch()
    assert (created.friendly_name, created.inbound_request_url, created.inbound_method, created.fallback_url,
            created.fallback_method, created.status_callback, created.sticky_sender, created.area_code_geomatch,
            created.validity_period, created.use_inbound_webhook_on_number) == (
        "Reminders", bot.url("/inbound"), "GET", bot.url("/fallback"), "POST", bot.url("/status"), False, True,
        600, False)

    # Its settings and webhooks change; a bad URL is the API's refusal, shown on the page, and changes nothing.
    form = page.locator("#edit-service")
    form.get_by_label("Request URL").fill(bot.url("/inbound-2"))
    form.get_by_label("Use the number's own webhook").check()
    form.get_by_label("Area code geomatch").uncheck()
    form.get_by_role("button", name="Save").click()
    assert "Saved Reminders" in flash(page)
    changed = client.messaging.v1.services(sid).fetch()
    assert (changed.inbound_request_url, changed.inbound_method, changed.use_inbound_webhook_on_number,
            changed.area_code_geomatch, changed.sticky_sender) == (bot.url("/inbound-2"), "GET", True, False, False)
    form.get_by_label("Fallback URL").fill("not a url")
    form.get_by_role("button", name="Save").click()
    assert "The FallbackUrl URL 'not a url' is not a valid http or https URL (error 20001)" in flash(page)
    assert client.messaging.v1.services(sid).fetch().fallback_url == bot.url("/fallback")

    # The pool: one of the account's numbers, not one in another service, and an alphanumeric sender.
    adding = page.locator("#add-number")
    adding.get_by_label("Phone number").select_option(mine.sid)
    adding.get_by_role("button", name="Add to the pool").click()
    assert f"Added {mine.phone_number} to the pool" in flash(page)
    expect(page.locator("#senders")).to_contain_text(mine.phone_number)
    expect(page.locator("#add-number option")).to_have_text([re.compile(rf"^\{taken.phone_number} .* — in Other service$")])
    page.locator("#add-number").get_by_role("button", name="Add to the pool").click()
    assert f"Phone number {taken.phone_number} is associated with another Messaging Service ({other.sid}) " \
           "(error 21712)" in flash(page)
    page.locator("#add-alpha-sender").get_by_label("Alphanumeric ID").fill("Loft")
    page.locator("#add-alpha-sender").get_by_role("button", name="Add to the pool").click()
    assert "Added the alphanumeric sender Loft" in flash(page)
    page.locator("#add-alpha-sender").get_by_label("Alphanumeric ID").fill("Another")
    page.locator("#add-alpha-sender").get_by_role("button", name="Add to the pool").click()
    assert "has an AlphaSender already" in flash(page)
    expect(page.locator("#senders tbody tr")).to_have_count(2)
    shoot(page, "service", full_page=True)
    assert [n.sid for n in client.messaging.v1.services(sid).phone_numbers.list()] == [mine.sid]
    assert [a.alpha_sender for a in client.messaging.v1.services(sid).alpha_senders.list()] == ["Loft"]
    assert [n.sid for n in other.phone_numbers.list()] == [taken.sid]

    # The number's own page says whose pool it is in, and where its messages go.
    page.locator("#senders").get_by_role("link", name=mine.phone_number).click()
    expect(page.locator("#number-service")).to_contain_text(
        "would use the number's own webhook, but none is set here: its messages go to the service's request URL")
    client.incoming_phone_numbers(mine.sid).update(sms_url="https://example.com/own")
    page.reload()
    expect(page.locator("#number-service")).to_contain_text("the service uses the number's own webhook")
    page.locator("#number-service").get_by_role("link", name="Reminders").click()

    page.locator("#senders tbody tr", has_text=mine.phone_number).get_by_role("button", name="Remove").click()
    assert f"Removed {mine.phone_number} from the pool" in flash(page)
    expect(page.locator("#senders")).not_to_contain_text(mine.phone_number)
    assert client.messaging.v1.services(sid).phone_numbers.list() == []
    assert client.incoming_phone_numbers(mine.sid).fetch().phone_number == mine.phone_number  # still the account's

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this service").click()
    assert "Deleted the Messaging Service Reminders" in flash(page)
    expect(page).to_have_url(re.compile(r"/console/services$"))
    expect(page.locator("#services")).not_to_contain_text("Reminders")
    assert [s.sid for s in client.messaging.v1.services.list()] == [other.sid]


def test_creating_a_service_needs_a_name(page: Page, account: tuple[str, str], client: Client) -> None:
    sign_in(page, *account)
    nav(page, "Messaging Services")
    page.locator("#create-service").get_by_role("button", name="Create").click()
    assert "FriendlyName must not be empty (error 20001)" in flash(page)
    expect(page).to_have_url(re.compile(r"/console/services$"))
    assert client.messaging.v1.services.list() == []


def test_scheduled_messages_are_listed_and_canceled(page: Page, account: tuple[str, str], client: Client,
                                                   server: LoftServer) -> None:
    service = client.messaging.v1.services.create(friendly_name="Reminders")
    sender = client.incoming_phone_numbers.create(area_code="415").phone_number
    later = schedule_message(client, service.sid, "+15550100002", "see you tomorrow", in_hours=30)
    sooner = schedule_message(client, service.sid, "+15550100001", "see you soon", in_hours=2)
    stale = schedule_message(client, service.sid, "+15550100003", "canceled meanwhile", in_hours=5)
    sent = client.messages.create(to="+15550100004", from_=sender, body="not scheduled")
    sign_in(page, *account)
    nav(page, "Messages")
    page.get_by_role("link", name="Scheduled messages →").click()
    expect(page).to_have_url(re.compile(r"/console/messages/scheduled$"))
    rows = page.locator("#scheduled tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("see you soon")
    expect(rows.nth(0)).to_contain_text("Reminders")
    expect(rows.nth(2)).to_contain_text("see you tomorrow")
    expect(page.locator("#scheduled")).not_to_contain_text("not scheduled")
    shoot(page, "scheduled")

    page.on("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="see you soon").get_by_role("button", name="Cancel").click()
    assert f"Canceled the message to +15550100001 ({sooner})" in flash(page)
    expect(page).to_have_url(re.compile(r"/console/messages/scheduled$"))
    expect(rows).to_have_count(2)
    assert client.messages(sooner).fetch().status == "canceled"
    assert client.messages(later).fetch().status == "scheduled"

    # Canceled through the API while the page was open: the button answers the API's refusal.
    assert client.messages(stale).update(status="canceled").status == "canceled"
    rows.filter(has_text="canceled meanwhile").get_by_role("button", name="Cancel").click()
    assert f"Message {stale} cannot be canceled: only a scheduled message can be, and its status is canceled " \
           "(error 30409)" in flash(page)
    expect(rows).to_have_count(1)

    # A message that was never scheduled is refused as the API refuses it (30409 while it is in flight).
    csrf = page.locator("main input[name=csrf_token]").first.get_attribute("value") or ""
    answer = page.request.post(f"/console/messages/{sent.sid}/cancel", form={"csrf_token": csrf}, max_redirects=0,
                               headers={"Referer": f"{server.base_url}/console/messages/{sent.sid}"})
    assert answer.status == 303
    page.goto(answer.headers["location"])
    assert f"Message {sent.sid} cannot be canceled: only a scheduled message can be" in flash(page)
    assert client.messages(sent.sid).fetch().status != "canceled"

    # The message's own page cancels it too.
    page.goto(f"/console/messages/{later}")
    expect(page.locator("dl.pairs")).to_contain_text(service.sid)
    page.get_by_role("button", name="Cancel").click()
    assert "Canceled the message" in flash(page)
    expect(page.locator("#message-status")).to_have_text("canceled")
    assert client.messages(later).fetch().status == "canceled"
    page.goto("/console/messages/scheduled")
    expect(page.locator("main")).to_contain_text("No scheduled messages.")


def test_a_subaccount_sees_only_its_own_services(page: Page, server: LoftServer, main_client: Client) -> None:
    sub = main_client.api.accounts.create(friendly_name="Services sub")
    as_sub = clients.sdk(server.base_url, sub.sid, sub.auth_token)
    theirs = as_sub.messaging.v1.services.create(friendly_name="The subaccount's service")
    ours = main_client.messaging.v1.services.create(friendly_name="The main account's service")
    schedule_message(main_client, ours.sid, "+15550100009", "the main account's plan", in_hours=3)

    sign_in(page, server.account_sid, server.auth_token)
    nav(page, "Messaging Services")
    expect(page.locator("#services")).to_contain_text(ours.friendly_name)
    expect(page.locator("#services")).not_to_contain_text(theirs.friendly_name)
    page.locator("#account-switcher select").select_option(label="Services sub (subaccount)")
    expect(page.locator("#acting")).to_contain_text("Services sub")
    nav(page, "Messaging Services")
    expect(page.locator("#services")).to_contain_text(theirs.friendly_name)
    expect(page.locator("#services")).not_to_contain_text(ours.friendly_name)
    page.goto("/console/messages/scheduled")
    expect(page.locator("main")).not_to_contain_text("the main account's plan")
    # The parent's service is not found while acting as the subaccount, and cannot be changed from it.
    page.goto(f"/console/services/{ours.sid}")
    expect(page.locator("main")).to_contain_text("not found")
    csrf = page.locator("header input[name=csrf_token]").first.get_attribute("value") or ""
    page.request.post(f"/console/services/{ours.sid}/delete", form={"csrf_token": csrf})
    assert main_client.messaging.v1.services(ours.sid).fetch().friendly_name == ours.friendly_name

    # Signed in as the subaccount itself: the same.
    page.locator("#switch-back").click()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, sub.sid, sub.auth_token)
    nav(page, "Messaging Services")
    expect(page.locator("#services tbody tr")).to_have_text([re.compile(theirs.friendly_name)])
    main_client.messaging.v1.services(ours.sid).delete()


def test_pages_need_a_session(page: Page) -> None:
    for path in ("/console/services", "/console/services/MG" + "0" * 32, "/console/messages/scheduled"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/console/signin$"))


@pytest.mark.parametrize("action", [
    pytest.param("/console/services", id="create"),
    pytest.param("/console/services/{service}", id="edit"),
    pytest.param("/console/services/{service}/numbers", id="add-number"),
    pytest.param("/console/services/{service}/alpha-senders", id="add-alpha-sender"),
    pytest.param("/console/services/{service}/senders/{number}/remove", id="remove-sender"),
    pytest.param("/console/services/{service}/delete", id="delete"),
    pytest.param("/console/messages/{message}/cancel", id="cancel"),
])
def test_every_form_needs_the_csrf_token(page: Page, account: tuple[str, str], client: Client, server: LoftServer,
                                         action: str) -> None:
    service = client.messaging.v1.services.create(friendly_name="Kept")
    number = client.incoming_phone_numbers.create(area_code="415")
    service.phone_numbers.create(phone_number_sid=number.sid)
    message = schedule_message(client, service.sid, "+15550100001", "kept", in_hours=2)
    sign_in(page, *account)
    path = action.format(service=service.sid, number=number.sid, message=message)
    form = {"FriendlyName": "forged", "PhoneNumberSid": number.sid, "AlphaSender": "Forged", "kind": "phone_number"}
    for token in ({}, {"csrf_token": "guess"}):
        refused = page.request.post(path, form={**form, **token}, max_redirects=0)
        assert refused.status == 403 and "CSRF check failed" in refused.text()
    assert [s.friendly_name for s in client.messaging.v1.services.list()] == ["Kept"]
    assert [n.sid for n in service.phone_numbers.list()] == [number.sid]
    assert service.alpha_senders.list() == []
    assert client.messages(message).fetch().status == "scheduled"


def test_a_services_name_is_shown_as_text(page: Page, account: tuple[str, str], client: Client) -> None:
    name = "<script>window.__pwned = 1</script><b>bold</b>"
    created = client.messaging.v1.services.create(friendly_name=name)
    number = client.incoming_phone_numbers.create(area_code="415")
    created.phone_numbers.create(phone_number_sid=number.sid)
    sign_in(page, *account)
    nav(page, "Messaging Services")
    expect(page.locator("#services")).to_contain_text(name)
    page.get_by_role("link", name=name).click()
    expect(page.locator("h1")).to_have_text(name)
    page.goto(f"/console/numbers/{number.sid}")
    expect(page.locator("#number-service")).to_contain_text(name)
    expect(page.locator("#number-service")).to_contain_text("are stored and go to no webhook")
    assert page.locator("main script, main b").count() == 0
    assert page.evaluate("window.__pwned") is None
