"""Usage Records (all nine list resources) and Balance: computed from what the account really did.

Messages are sent with the SDK to virtual handsets and received from them through the simulator, then counted
once billed. Loft dates every row by its own clock, so to see past days and months a test moves a finished
row's ``date_created`` straight in the server's database (``_move_in_time``): that is test data setup, the
only write that does not go through Loft's API.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import asyncpg
import httpx
import pytest
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from tests.conftest import server_of_its_own
from tests.support import clients
from tests.support import receiver as receivers
from tests.support.clients import checked
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
ALL_CATEGORIES = ["mms", "mms-inbound", "mms-outbound", "phonenumbers", "phonenumbers-local",
                  "phonenumbers-mobile", "phonenumbers-tollfree", "sms", "sms-inbound", "sms-outbound",
                  "totalprice"]
LOCAL_NUMBER_FEE = Decimal("1.15")


def _send(client: Client, sender: str, to: str, body: str = "hello", **extra: Any) -> str:
    sid: str = client.messages.create(to=to, from_=sender, body=body, **extra).sid
    return sid


def _wait_until(client: Client, sids: list[str], status: str = "delivered") -> None:
    eventually(lambda: all(status_of(client, sid) == status for sid in sids))


def _cost(client: Client, *sids: str) -> Decimal:
    """What the messages were billed, as a positive amount (message prices are negative strings)."""
    return sum((-Decimal(client.messages(sid).fetch().price) for sid in sids), Decimal(0))


def _money(value: Any) -> Decimal:
    """A usage record's ``price`` (a JSON number, which twilio-python reads as a Decimal) to five places."""
    return Decimal(value).quantize(Decimal("0.00001"))


def _move_in_time(loft: LoftServer, table: str, sid: str, moment: datetime) -> None:
    """Test data setup: set ``date_created`` of one row of ``table`` in the server's own database."""
    if loft.database_url is None:
        with closing(sqlite3.connect(loft.data_dir / "loft.db", timeout=30)) as db, db:
            # SQLAlchemy stores SQLite datetimes as UTC text in this exact form.
            db.execute(f"UPDATE {table} SET date_created = ? WHERE sid = ?",
                       (moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), sid))
        return

    async def update() -> None:
        connection = await asyncpg.connect(loft.database_url, timeout=10)
        try:
            await connection.execute(f"UPDATE {table} SET date_created = $1 WHERE sid = $2", moment, sid)
        finally:
            await connection.close()

    asyncio.run(update())


def _utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# Counts and prices -----------------------------------------------------------------------------------------


def test_records_count_the_messages_sent_and_received_with_their_segments_and_prices(
    client: Client, sender: str, sim: Sim, receiver: receivers.Receiver
) -> None:
    receiver.answer("/cat.png", receivers.Answer(raw=PNG, content_type="image/png"))
    short = _send(client, sender, "+15558673001", "hello")
    long = _send(client, sender, "+15558673002", "x" * 200)  # two segments
    mms = _send(client, sender, "+15558673003", "a cat", media_url=[receiver.url("/cat.png")])
    inbound = sim.text("+15558673004", sender, "hi back")["sid"]
    _wait_until(client, [short, long, mms])
    _wait_until(client, [inbound], "received")

    today = datetime.now(UTC).date()
    window = {"start_date": today - timedelta(days=1), "end_date": today + timedelta(days=1)}
    records = {r.category: r for r in client.usage.records.list(**window)}
    assert sorted(records) == ALL_CATEGORIES

    outbound = records["sms-outbound"]
    assert (outbound.count, outbound.count_unit, outbound.usage, outbound.usage_unit) == ("2", "messages", "3", "segments")
    assert _money(outbound.price) == _cost(client, short, long) and outbound.price_unit == "usd"
    assert (records["sms-inbound"].count, records["sms-inbound"].usage) == ("1", "1")
    assert _money(records["sms-inbound"].price) == _cost(client, inbound)
    assert (records["sms"].count, records["sms"].usage) == ("3", "4")
    assert _money(records["sms"].price) == _cost(client, short, long, inbound)
    assert (records["mms-outbound"].count, records["mms-outbound"].usage_unit) == ("1", "messages")
    assert (records["mms"].count, records["mms-inbound"].count) == ("1", "0")
    assert _money(records["mms"].price) == _cost(client, mms)
    assert (records["phonenumbers"].count, records["phonenumbers-local"].count) == ("1", "1")
    total = _cost(client, short, long, mms, inbound) + LOCAL_NUMBER_FEE
    assert _money(records["totalprice"].price) == total and Decimal(records["totalprice"].usage) == total
    assert records["totalprice"].usage_unit == "usd"
    assert (outbound.start_date, outbound.end_date) == (window["start_date"], window["end_date"])
    assert outbound.account_sid == client.account_sid and outbound.api_version == "2010-04-01"
    assert outbound.uri.startswith(f"/2010-04-01/Accounts/{client.account_sid}/Usage/Records.json?Category=sms-outbound&")
    assert outbound.subresource_uris["daily"] == (
        f"/2010-04-01/Accounts/{client.account_sid}/Usage/Records/Daily.json?Category=sms-outbound")

    only_sms = client.usage.records.list(category="sms", **window)
    assert [(r.category, r.count) for r in only_sms] == [("sms", "3")]


def test_a_failed_message_is_neither_counted_nor_billed(
    client: Client, sender: str, receiver: receivers.Receiver
) -> None:
    receiver.answer("/gone.png", receivers.Answer(status=404, body="gone"))
    failed = _send(client, sender, "+15558673011", media_url=[receiver.url("/gone.png")])
    delivered = _send(client, sender, "+15558673012")
    _wait_until(client, [failed], "failed")
    _wait_until(client, [delivered])
    records = {r.category: r for r in client.usage.records.all_time.list()}
    assert (records["mms-outbound"].count, records["sms-outbound"].count) == ("0", "1")
    assert _money(records["sms-outbound"].price) == _cost(client, delivered)


def test_today_this_month_and_all_time_include_todays_usage_and_yesterday_and_last_month_do_not(
    client: Client, sender: str
) -> None:
    sid = _send(client, sender, "+15558673021")
    _wait_until(client, [sid])
    records = client.usage.records
    for listed in (records.today.list(category="sms-outbound"), records.this_month.list(category="sms-outbound"),
                   records.all_time.list(category="sms-outbound")):
        assert [(r.count, _money(r.price)) for r in listed] == [("1", _cost(client, sid))]
    assert [r.count for r in records.yesterday.list(category="sms-outbound")] == ["0"]
    assert [r.count for r in records.last_month.list(category="sms-outbound")] == ["0"]

    today = records.today.list(category="sms")[0]
    assert today.start_date == today.end_date
    this_month = records.this_month.list(category="sms")[0]
    assert this_month.start_date == today.start_date.replace(day=1) and this_month.end_date == today.end_date
    last_month = records.last_month.list(category="sms")[0]
    assert last_month.end_date == this_month.start_date - timedelta(days=1) and last_month.start_date.day == 1
    yesterday = records.yesterday.list(category="sms")[0]
    assert yesterday.start_date == yesterday.end_date == today.start_date - timedelta(days=1)


def test_a_fixed_range_outside_the_given_dates_lists_nothing(client: Client) -> None:
    assert client.usage.records.today.list(start_date=date(2020, 1, 1), end_date=date(2020, 1, 2)) == []


# Periods ---------------------------------------------------------------------------------------------------


def test_daily_monthly_and_yearly_buckets_follow_utc_days_across_a_month_boundary(
    loft: LoftServer, client: Client, sender: str
) -> None:
    january, february, february_noon, recent = (_send(client, sender, f"+1555867303{i}") for i in range(4))
    _wait_until(client, [january, february, february_noon, recent])
    _move_in_time(loft, "messages", january, _utc(2025, 1, 31, 23, 59, 59))
    _move_in_time(loft, "messages", february, _utc(2025, 2, 1, 0, 0, 0))
    _move_in_time(loft, "messages", february_noon, _utc(2025, 2, 1, 12, 0, 0))
    records = client.usage.records

    daily = records.daily.list(category="sms-outbound", start_date=date(2025, 1, 30), end_date=date(2025, 2, 2))
    assert [(r.start_date, r.end_date, r.count) for r in daily] == [
        (date(2025, 1, 30), date(2025, 1, 30), "0"),
        (date(2025, 1, 31), date(2025, 1, 31), "1"),
        (date(2025, 2, 1), date(2025, 2, 1), "2"),
        (date(2025, 2, 2), date(2025, 2, 2), "0"),
    ]
    assert _money(daily[1].price) == _cost(client, january)
    assert _money(daily[2].price) == _cost(client, february, february_noon)

    monthly = records.monthly.list(category="sms-outbound", start_date=date(2025, 1, 1), end_date=date(2025, 2, 28))
    assert [(r.start_date, r.end_date, r.count) for r in monthly] == [
        (date(2025, 1, 1), date(2025, 1, 31), "1"),
        (date(2025, 2, 1), date(2025, 2, 28), "2"),
    ]
    yearly = records.yearly.list(category="sms-outbound", start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    assert [(r.start_date, r.end_date, r.count) for r in yearly] == [(date(2025, 1, 1), date(2025, 12, 31), "3")]

    one_day = records.list(category="sms-outbound", start_date=date(2025, 2, 1), end_date=date(2025, 2, 1))
    assert [r.count for r in one_day] == ["2"]
    assert [r.count for r in records.list(category="sms-outbound", start_date="-30days")] == ["1"]
    assert [r.count for r in records.all_time.list(category="sms-outbound")] == ["4"]
    # Without a StartDate, Monthly starts at the account's first usage.
    first = records.monthly.list(category="sms-outbound")[0]
    assert (first.start_date, first.count) == (date(2025, 1, 1), "1")


def test_phone_numbers_are_billed_the_day_they_are_bought_and_monthly_after(
    loft: LoftServer, client: Client, sender: str
) -> None:
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    _move_in_time(loft, "incoming_phone_numbers", number.sid, _utc(2025, 1, 31, 10, 0, 0))
    records = client.usage.records

    monthly = records.monthly.list(category="phonenumbers-local", start_date=date(2025, 1, 1),
                                   end_date=date(2025, 4, 30))
    assert [(r.start_date, r.count, _money(r.price)) for r in monthly] == [
        (date(2025, month, 1), "1", LOCAL_NUMBER_FEE) for month in (1, 2, 3, 4)
    ]
    daily = records.daily.list(category="phonenumbers", start_date=date(2025, 2, 27), end_date=date(2025, 3, 1))
    assert [(r.start_date, r.count) for r in daily] == [
        (date(2025, 2, 27), "0"), (date(2025, 2, 28), "1"), (date(2025, 3, 1), "0")]
    assert daily[0].count_unit == daily[0].usage_unit == "phone-numbers"
    total = records.list(category="totalprice", start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))[0]
    assert _money(total.price) == 12 * LOCAL_NUMBER_FEE


# Subaccounts -----------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    """A server of its own: its main account's usage is exactly what the test makes it do."""
    server = server_of_its_own(request, tmp_path)
    with server.running():
        yield server


def test_include_subaccounts_sums_the_account_and_its_subaccounts(own_server: LoftServer) -> None:
    main = clients.sdk(own_server.base_url, own_server.account_sid, own_server.auth_token)
    first, second = (main.api.accounts.create(friendly_name=name) for name in ("first", "second"))
    first_client = clients.sdk(own_server.base_url, first.sid, first.auth_token)
    second_client = clients.sdk(own_server.base_url, second.sid, second.auth_token)
    sent = []
    for who, count in ((main, 1), (first_client, 2), (second_client, 1)):
        sender = who.incoming_phone_numbers.create(area_code="415").phone_number
        sids = [_send(who, sender, f"+1555867304{i}") for i in range(count)]
        _wait_until(who, sids)
        sent.append((who, sids))

    def outbound(who: Client, **options: Any) -> str:
        return str(who.usage.records.all_time.list(category="sms-outbound", **options)[0].count)

    assert outbound(main) == outbound(main, include_subaccounts=True) == "4"
    assert outbound(main, include_subaccounts=False) == "1"
    assert outbound(first_client) == outbound(first_client, include_subaccounts=False) == "2"
    numbers = main.usage.records.all_time.list(category="phonenumbers")[0]
    assert numbers.count == "3" and _money(numbers.price) == 3 * LOCAL_NUMBER_FEE
    assert main.usage.records.all_time.list(category="phonenumbers", include_subaccounts=False)[0].count == "1"

    spent = sum((_cost(who, *sids) for who, sids in sent), 3 * LOCAL_NUMBER_FEE)
    assert Decimal(main.balance.fetch().balance) == -spent

    sibling = checked(httpx.get(f"{own_server.base_url}/2010-04-01/Accounts/{first.sid}/Usage/Records.json",
                                auth=(second.sid, second.auth_token)))
    assert sibling.status_code == 403 and sibling.json()["code"] == 20003


# Balance ---------------------------------------------------------------------------------------------------


def test_balance_is_what_is_left_after_every_charge(client: Client, sender: str) -> None:
    sid = _send(client, sender, "+15558673051")
    _wait_until(client, [sid])
    balance = client.balance.fetch()
    spent = _cost(client, sid) + LOCAL_NUMBER_FEE
    assert Decimal(balance.balance) == -spent
    assert balance.currency == "USD" and balance.account_sid == client.account_sid
    total = client.usage.records.all_time.list(category="totalprice")[0]
    assert _money(total.price) == spent


# Listing ---------------------------------------------------------------------------------------------------


def test_all_time_pages_through_every_category(loft: LoftServer, client: Client, account: tuple[str, str]) -> None:
    assert [r.category for r in client.usage.records.all_time.list(page_size=4)] == ALL_CATEGORIES
    first = checked(httpx.get(f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Usage/Records/AllTime.json",
                              params={"PageSize": 4}, auth=account)).json()
    assert len(first["usage_records"]) == 4 and first["previous_page_uri"] is None
    assert first["next_page_uri"].endswith("PageSize=4&Page=1")
    last = checked(httpx.get(loft.base_url + first["next_page_uri"].replace("Page=1", "Page=2"), auth=account)).json()
    assert [r["category"] for r in last["usage_records"]] == ALL_CATEGORIES[8:]
    assert last["next_page_uri"] is None and last["start"] == 8 and last["end"] == 10


def test_a_category_loft_has_no_usage_for_is_zero(client: Client) -> None:
    listed = client.usage.records.list(category="calls")
    assert [(r.category, r.count, r.usage, _money(r.price)) for r in listed] == [("calls", "0", "0", Decimal(0))]


@pytest.mark.parametrize("category", [
    pytest.param("sms-outbund", id="misspelt"),
    pytest.param("messages", id="not-a-twilio-category"),
    pytest.param("calls-inbound-landline", id="well-formed-but-unknown"),
])
def test_a_category_twilio_does_not_have_is_refused_with_20001(client: Client, category: str) -> None:
    for records in (client.usage.records, client.usage.records.daily, client.usage.records.this_month):
        with pytest.raises(TwilioException, match="Unable to fetch page") as refused:  # twilio-python's list error
            records.list(category=category)
        response = refused.value.args[1]
        body = json.loads(response.text)
        assert (response.status_code, body["code"]) == (400, 20001)
        assert f"Category '{category}' is not a usage category" in body["message"]


def test_usage_records_answer_in_xml_without_a_suffix(loft: LoftServer, account: tuple[str, str]) -> None:
    response = httpx.get(f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Usage/Records/Today",
                         params={"Category": "sms"}, auth=account)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    records = ElementTree.fromstring(response.content).find("UsageRecords")
    assert records is not None and records.get("page") == "0"
    assert [r.findtext("Category") for r in records.findall("UsageRecord")] == ["sms"]
    assert records.findtext("UsageRecord/CountUnit") == "messages"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"StartDate": "2025-13-01"}, "StartDate", id="start-date-not-a-date"),
        pytest.param({"EndDate": "yesterday-ish"}, "EndDate", id="end-date-not-a-date"),
        pytest.param({"StartDate": "2025-02-02", "EndDate": "2025-02-01"}, "after", id="start-after-end"),
        pytest.param({"IncludeSubaccounts": "maybe"}, "IncludeSubaccounts", id="include-subaccounts-not-boolean"),
        pytest.param({"Category": "SMS outbound!"}, "Category", id="category-malformed"),
    ],
)
def test_bad_filters_are_refused(loft: LoftServer, account: tuple[str, str], params: dict[str, str],
                                 message: str) -> None:
    response = checked(httpx.get(f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Usage/Records/Daily.json",
                                 params=params, auth=account))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 20001 and message in body["message"]
