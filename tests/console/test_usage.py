"""The usage page: the balance, usage per category over a chosen period, and a plot of messages per day, with
the figures the API answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from twilio.rest import Client

from tests.console.helpers import nav, shoot, sign_in
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

HANDSET = "+15550100555"


def test_the_usage_page_shows_the_balance_the_categories_and_messages_per_day(
        page: Page, account: tuple[str, str], client: Client, sim: Sim) -> None:
    ours = client.incoming_phone_numbers.create(area_code="415").phone_number
    sent = [client.messages.create(to=HANDSET, from_=ours, body=f"out {n}").sid for n in range(2)]
    sim.text(HANDSET, ours, "in")
    eventually(lambda: all(status_of(client, sid) == "delivered" for sid in sent))
    today = datetime.now(UTC).date()
    balance = client.balance.fetch()
    [total] = client.usage.records.list(category="totalprice", start_date=today - timedelta(days=29), end_date=today)

    sign_in(page, *account)
    nav(page, "Usage")
    expect(page.locator("#balance")).to_have_text(balance.balance)
    expect(page.locator("main")).to_contain_text(balance.currency)
    expect(page.locator(".periods a[aria-current=page]")).to_have_text("Last 30 days")
    expect(page.locator("#usage-records tr[data-category=sms-outbound] td").nth(1)).to_have_text("2 messages")
    expect(page.locator("#usage-records tr[data-category=sms-inbound] td").nth(1)).to_have_text("1 messages")
    expect(page.locator("#usage-records tr[data-category=phonenumbers-local] td").nth(1)).to_have_text(
        "1 phone-numbers")
    expect(page.locator("#usage-total")).to_have_text(total.usage)

    chart = page.locator("svg#messages-per-day")
    expect(chart.locator("g.day")).to_have_count(30)
    day = chart.locator(f"g.day[data-day='{today}']")
    expect(day.locator("title")).to_have_text(f"{today}: 2 outbound, 1 inbound")
    outbound = float(day.locator("rect.outbound").get_attribute("height") or 0)
    inbound = float(day.locator("rect.inbound").get_attribute("height") or 0)
    assert outbound == 2 * inbound > 0
    shoot(page, "usage", full_page=True)

    # Another period: last month had none of it.
    page.locator(".periods").get_by_role("link", name="Last month").click()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    expect(page.get_by_role("heading", name=re.compile(f"^Usage by category, {first} to"))).to_have_count(1)
    expect(page.locator("#usage-records tr[data-category=sms-outbound] td").nth(1)).to_have_text("0 messages")
    expect(chart.locator("g.day rect")).to_have_count(0)
    expect(page.locator("#balance")).to_have_text(balance.balance)  # the balance is of all time

    # Chosen days.
    form = page.locator("#usage-period")
    form.get_by_label("From").fill(str(today - timedelta(days=2)))
    form.get_by_label("To").fill(str(today))
    form.get_by_role("button", name="Show").click()
    expect(chart.locator("g.day")).to_have_count(3)
    expect(page.locator("#usage-records tr[data-category=sms-outbound] td").nth(1)).to_have_text("2 messages")


def test_the_usage_page_refuses_periods_it_cannot_take(page: Page, account: tuple[str, str]) -> None:
    sign_in(page, *account)
    for query, says in (("start=yesterday", "From is a date written YYYY-MM-DD, not 'yesterday'."),
                        ("start=2025-02-02&end=2025-02-01", "The period starts (2025-02-02) after it ends (2025-02-01)."),
                        ("end=9999-12-31", "Dates run from 0001-01-01 to 9999-12-30."),
                        ("period=forever", "There is no period 'forever'")):
        response = page.goto(f"/console/usage?{query}")
        assert response is not None and response.status == 200
        expect(page.locator("#period-error")).to_contain_text(says)
        expect(page.locator(".periods a[aria-current=page]")).to_have_text("Last 30 days")
    page.goto("/console/usage?start=0001-01-01&end=9999-12-30")
    expect(page.locator("main")).to_contain_text("The plot shows periods of up to 366 days")
    expect(page.get_by_role("heading", name="Usage by category, 0001-01-01 to 9999-12-30")).to_have_count(1)
