"""The message log is live, as the virtual phone is: new messages and status changes appear without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from twilio.rest import Client

from tests.console.helpers import nav, shoot, sign_in
from tests.support.sim import Sim

HANDSET = "+15550100444"


def test_the_message_log_shows_new_messages_and_status_changes_without_a_reload(
        page: Page, account: tuple[str, str], client: Client, sim: Sim) -> None:
    ours = client.incoming_phone_numbers.create(area_code="415").phone_number
    sim.configure(HANDSET, ReceiptDelayMs=4000)  # "sent" for four seconds, then "delivered"
    sign_in(page, *account)
    nav(page, "Messages")
    expect(page.locator("#message-log .empty")).to_have_text("No messages.")
    page.evaluate("window.__loaded_once = true")  # gone if the page were loaded again

    sent = client.messages.create(to=HANDSET, from_=ours, body="live <b>one</b>")
    row = page.locator(f"#messages tbody tr[data-sid='{sent.sid}']")
    expect(row).to_contain_text("live <b>one</b>")
    expect(row.locator(".badge")).to_have_text("sent")
    expect(page.locator("#message-log .empty")).to_have_count(0)
    expect(row.locator(".badge")).to_have_text("delivered")

    received = sim.text(HANDSET, ours, "a reply from the handset")
    newest = page.locator("#messages tbody tr").first
    expect(newest).to_have_attribute("data-sid", received["sid"])
    expect(newest).to_contain_text("a reply from the handset")
    expect(newest.locator(".badge")).to_have_text("received")
    expect(page.locator("#messages tbody tr")).to_have_count(2)
    shoot(page, "messages-live")

    assert page.evaluate("window.__loaded_once") is True
    assert page.locator("#messages b").count() == 0  # drawn as text
    newest.get_by_role("link").click()
    expect(page.locator("#message-body")).to_have_text("a reply from the handset")


def test_a_filtered_log_stays_filtered_as_it_updates(page: Page, account: tuple[str, str], client: Client,
                                                     sim: Sim) -> None:
    ours = client.incoming_phone_numbers.create(area_code="415").phone_number
    sign_in(page, *account)
    page.goto("/console/messages?direction=inbound")
    expect(page.locator("#message-log .empty")).to_have_text("No messages match these filters.")
    client.messages.create(to=HANDSET, from_=ours, body="outbound, filtered out")
    received = sim.text(HANDSET, ours, "inbound, shown")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    expect(page.locator("#messages tbody tr").first).to_have_attribute("data-sid", received["sid"])
    page.wait_for_timeout(1500)  # a few more polls: the outbound message never shows up
    expect(page.locator("#messages tbody tr")).to_have_count(1)
