"""The issue's scenario, as a person does it in a browser: sign in, buy a number, create a TwiML app pointing at
a bot and bind it to the number, text the number from the virtual phone and watch the bot's reply arrive
without a reload, then find both messages and their webhook attempts in the message log."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from twilio.rest import Client

from tests.console.helpers import flash, nav, shoot, sign_in
from tests.support.receiver import Answer, Receiver

REPLY = "Hi from the bot"


def test_sign_in_buy_bind_text_and_read_the_log(page: Page, account: tuple[str, str], client: Client,
                                                bot: Receiver) -> None:
    sid, token = account
    bot.answer("/sms", Answer(body=f'<Response><Message action="{bot.url("/status")}">{REPLY}</Message></Response>'))

    # Sign in: the dashboard shows the account SID, and the auth token only after a click.
    page.goto("/console")
    shoot(page, "signin")
    sign_in(page, sid, token)
    expect(page.locator("#account-sid")).to_have_text(sid)
    assert token not in page.content()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#auth-token")).to_have_text(token)
    expect(page.locator("#snippet-python")).to_contain_text(f'Client("{sid}", "{token}")')
    expect(page.locator("#snippet-python")).to_contain_text(f'client.api.base_url = "{page.url.split("/console")[0]}"')
    shoot(page, "dashboard")

    # Buy a number: search an area code, buy the first one offered.
    nav(page, "Phone numbers")
    page.get_by_label("Area code").fill("415")
    page.get_by_role("button", name="Search").click()
    offered = page.locator("#candidates tbody tr").first.locator("td").first.inner_text()
    assert offered.startswith("+1415")
    shoot(page, "numbers-search")
    page.locator("#candidates button.buy").first.click()
    expect(page.locator("h1")).to_have_text(offered)
    assert f"You bought {offered}" in flash(page)
    [owned] = client.incoming_phone_numbers.list()
    assert owned.phone_number == offered

    # A TwiML app pointing at the bot.
    nav(page, "TwiML apps")
    form = page.locator("#create-app")
    form.get_by_label("Friendly name").fill("Echo bot")
    form.get_by_label("A message comes in: request URL").fill(bot.url("/sms"))
    form.get_by_role("button", name="Create").click()
    assert "Created the TwiML app Echo bot" in flash(page)
    expect(page.locator("#apps")).to_contain_text(bot.url("/sms"))
    [app] = client.applications.list()
    assert (app.friendly_name, app.sms_url, app.sms_method) == ("Echo bot", bot.url("/sms"), "POST")

    # Bind it to the number.
    nav(page, "Phone numbers")
    page.get_by_role("link", name=offered).click()
    page.get_by_label("TwiML app", exact=True).check()
    page.locator("#sms-application").select_option(label="Echo bot")
    shoot(page, "number")
    page.get_by_role("button", name="Save").click()
    assert f"Saved {offered}" in flash(page)
    assert client.incoming_phone_numbers(owned.sid).fetch().sms_application_sid == app.sid
    nav(page, "Phone numbers")
    expect(page.locator("#numbers")).to_contain_text("TwiML app Echo bot")
    nav(page, "TwiML apps")
    expect(page.locator("#apps")).to_contain_text(offered)
    shoot(page, "apps")

    # The virtual phone: a new handset texts the number; the bot's reply shows up without a reload.
    nav(page, "Virtual phone")
    page.get_by_role("button", name="New handset").click()
    expect(page).to_have_url(re.compile(r"/console/phone\?handset=%2B1555010\d{4}&number="))
    handset = page.locator(".phone-head span").inner_text()
    page.evaluate("window.__same_page = true")
    page.locator("#composer-body").fill("hello")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".bubble.mine .text")).to_have_text(["hello"])
    expect(page.locator(".bubble.theirs .text")).to_have_text([REPLY])
    assert page.evaluate("window.__same_page") is True  # no reload happened
    expect(page.locator("#composer-body")).to_have_value("")
    shoot(page, "phone")

    [inbound] = bot.wait_for(lambda got: len([r for r in got if r.path == "/sms"]) >= 1) and bot.to("/sms")[-1:]
    assert (inbound.param("From"), inbound.param("To"), inbound.param("Body")) == (handset, offered, "hello")
    bot.wait_for(lambda got: any(r.path == "/status" and r.param("MessageStatus") == "delivered" for r in got))

    # The message log holds both; each has its webhook attempts.
    nav(page, "Messages")
    rows = page.locator("#messages tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(REPLY)
    expect(rows.nth(0)).to_contain_text("outbound-reply")
    expect(rows.nth(1)).to_contain_text("hello")
    expect(rows.nth(1)).to_contain_text("inbound")
    shoot(page, "messages")

    page.locator("#message-filters select[name=direction]").select_option("inbound")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("hello")
    rows.first.get_by_role("link").click()
    expect(page.locator("#message-body")).to_have_text("hello")
    attempt = page.locator("article.attempt[data-kind=inbound]")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text(bot.url("/sms"))
    expect(attempt).to_contain_text("HTTP 200")
    expect(attempt).to_contain_text(" ms")
    expect(attempt.locator("pre.response")).to_contain_text("<Response><Message action=")
    attempt.locator("summary").click()
    expect(attempt.locator("table.params")).to_contain_text("hello")
    shoot(page, "message-inbound", full_page=True)

    page.goto("/console/messages?direction=outbound-reply")
    page.locator("#messages tbody tr").first.get_by_role("link").click()
    expect(page.locator("#message-body")).to_have_text(REPLY)
    expect(page.locator("#message-status")).to_have_text("delivered")
    history = page.locator("#status-history li")
    expect(history.first).to_contain_text("queued")
    expect(page.locator("#status-history")).to_contain_text("sent")
    expect(history.last).to_contain_text("delivered")
    callbacks = page.locator("article.attempt[data-kind=status_callback]")
    expect(callbacks.first).to_contain_text(bot.url("/status"))
    assert callbacks.count() >= 2  # sent and delivered, at least
    shoot(page, "message-reply", full_page=True)
