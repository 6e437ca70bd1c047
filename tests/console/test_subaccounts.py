"""Subaccounts in the console: a new one's auth token shown once, and the account switcher (the main account's
person acts as a subaccount, then comes back; an API key's session cannot)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from twilio.rest import Client

from tests.console.helpers import flash, nav, shoot, sign_in
from tests.support import clients
from tests.support.server import LoftServer


def test_a_new_subaccounts_auth_token_is_shown_once_with_a_copy_button(browser: Browser, server: LoftServer,
                                                                       main_client: Client) -> None:
    context = browser.new_context(base_url=server.base_url, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        sign_in(page, server.account_sid, server.auth_token)
        nav(page, "Subaccounts")
        page.locator("#create-subaccount").get_by_label("Friendly name").fill("Shown once")
        page.locator("#create-subaccount").get_by_role("button", name="Create").click()
        assert "Created the subaccount Shown once" in flash(page)
        card = page.locator("#new-subaccount")
        expect(card).to_contain_text("the console will not show it again")
        sid = page.locator("#new-subaccount-sid").inner_text()
        token = page.locator("#new-subaccount-token").inner_text()
        card.locator("dd", has=page.locator("#new-subaccount-token")).get_by_role("button", name="Copy").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        shoot(page, "subaccount-created")

        # The token is the subaccount's own: the SDK authenticates with it.
        assert re.fullmatch(r"AC[0-9a-f]{32}", sid) and copied == token
        assert clients.sdk(server.base_url, sid, token).api.v2010.account.fetch().friendly_name == "Shown once"
        assert main_client.api.accounts(sid).fetch().auth_token == token

        page.reload()
        expect(page.locator("#new-subaccount")).to_have_count(0)
        expect(page.locator("#subaccounts")).to_contain_text(sid)
        assert token not in page.content()
        # Nor does acting as it show the token.
        page.locator("#subaccounts tbody tr", has_text=sid).get_by_role("button", name="Switch to").click()
        expect(page.locator("#account-sid")).to_have_text(sid)
        expect(page.locator("#auth-token")).to_contain_text("showed this subaccount's auth token once")
        expect(page.get_by_role("button", name="Show")).to_have_count(0)
        csrf = page.locator("#acting input[name=csrf_token]").get_attribute("value") or ""
        revealed = page.request.post("/console/reveal", form={"csrf_token": csrf})
        assert "showed this subaccount's auth token once" in revealed.text() and token not in revealed.text()
    finally:
        context.close()


def test_the_main_account_acts_as_a_subaccount_and_switches_back(page: Page, server: LoftServer,
                                                                 main_client: Client) -> None:
    sub = main_client.api.accounts.create(friendly_name="Acting sub")
    as_sub = clients.sdk(server.base_url, server.account_sid, server.auth_token, sub.sid)
    theirs = as_sub.incoming_phone_numbers.create(area_code="628")
    as_sub.messages.create(to="+15550100321", from_=theirs.phone_number, body="sent by the subaccount")
    ours = main_client.incoming_phone_numbers.create(area_code="415")

    sign_in(page, server.account_sid, server.auth_token)
    expect(page.locator("#acting")).to_have_count(0)
    switcher = page.locator("#account-switcher select")
    expect(switcher.locator("option", has_text="Acting sub")).to_have_count(1)
    switcher.select_option(label="Acting sub (subaccount)")  # the switch happens on the pick
    expect(page.locator("#account-sid")).to_have_text(sub.sid)
    expect(page.locator("#acting")).to_contain_text("You are acting as the subaccount Acting sub")
    shoot(page, "acting-as-subaccount")

    # Its numbers, its messages, its virtual phone; and what is changed here changes the subaccount.
    nav(page, "Phone numbers")
    expect(page.locator("#numbers")).to_contain_text(theirs.phone_number)
    expect(page.locator("#numbers")).not_to_contain_text(ours.phone_number)
    page.get_by_role("link", name=theirs.phone_number).click()
    page.locator("#configure-number").get_by_label("Friendly name").fill("Renamed while acting")
    page.locator("#configure-number").get_by_role("button", name="Save").click()
    assert as_sub.incoming_phone_numbers(theirs.sid).fetch().friendly_name == "Renamed while acting"
    nav(page, "Messages")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    expect(page.locator("#messages")).to_contain_text("sent by the subaccount")
    nav(page, "Virtual phone")
    expect(page.locator("#pick-handset select[name=number] option")).to_have_text([theirs.phone_number])
    assert sub.auth_token not in page.content()

    # Back to the main account, from the banner.
    page.locator("#switch-back").click()
    expect(page.locator("#account-sid")).to_have_text(server.account_sid)
    assert "Back to" in flash(page)
    expect(page.locator("#acting")).to_have_count(0)
    nav(page, "Phone numbers")
    expect(page.locator("#numbers")).to_contain_text(ours.phone_number)
    expect(page.locator("#numbers")).not_to_contain_text(theirs.phone_number)

    # A subaccount closed meanwhile is acted as no longer: the session is the main account's again.
    switcher.select_option(label="Acting sub (subaccount)")
    expect(page.locator("#account-sid")).to_have_text(sub.sid)
    main_client.api.accounts(sub.sid).update(status="closed")
    page.goto("/console")
    expect(page.locator("#account-sid")).to_have_text(server.account_sid)
    expect(page.locator("#acting")).to_have_count(0)
    expect(switcher.locator("option", has_text="Acting sub")).to_have_count(0)


def test_only_the_subaccounts_of_a_token_session_can_be_switched_to(page: Page, server: LoftServer,
                                                                    main_client: Client) -> None:
    first = main_client.api.accounts.create(friendly_name="First")
    second = main_client.api.accounts.create(friendly_name="Second")
    sign_in(page, first.sid, first.auth_token)
    expect(page.locator("#account-switcher")).to_have_count(0)  # a subaccount has none to switch to
    csrf = page.locator("header input[name=csrf_token]").get_attribute("value") or ""
    for target in (second.sid, server.account_sid, "AC" + "0" * 32, "nonsense"):
        answer = page.request.post("/console/switch", form={"AccountSid": target, "csrf_token": csrf},
                                   max_redirects=0)
        assert answer.status == 303
        page.goto(answer.headers["location"])
        assert f"do not grant access to account {target}" in flash(page)
    page.goto("/console")
    expect(page.locator("#account-sid")).to_have_text(first.sid)
    expect(page.locator("#acting")).to_have_count(0)


def test_an_api_keys_session_sees_no_subaccounts_and_cannot_switch(page: Page, server: LoftServer,
                                                                   main_client: Client) -> None:
    sub = main_client.api.accounts.create(friendly_name="Not for keys")
    key = main_client.new_keys.create(friendly_name="console key")
    try:
        sign_in(page, key.sid, key.secret)
        expect(page.locator("#account-sid")).to_have_text(server.account_sid)
        expect(page.locator("#account-switcher")).to_have_count(0)
        assert sub.sid not in page.content() and "Not for keys" not in page.content()
        csrf = page.locator("header input[name=csrf_token]").get_attribute("value") or ""
        answer = page.request.post("/console/switch", form={"AccountSid": sub.sid, "csrf_token": csrf},
                                   max_redirects=0)
        page.goto(answer.headers["location"])
        assert "opened with an API key" in flash(page)
        page.goto("/console/numbers")
        expect(page.locator("#acting")).to_have_count(0)
        assert sub.sid not in page.content()
    finally:
        main_client.keys(key.sid).delete()
