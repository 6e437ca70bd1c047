"""Inputs that used to be answered 500 get Twilio's 400, on SQLite and PostgreSQL alike: dates past the end of
Python's calendar, page numbers past a 64-bit offset, NUL characters in a path, a query or a form; and a path
logged by Loft cannot start a line of its own."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from loft import app as application
from loft.db.health import Health
from loft.errors import DatabaseUnavailable
from tests.support import clients
from tests.support.server import LoftServer


@pytest.fixture
def http(loft: LoftServer, account: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{loft.base_url}/2010-04-01/Accounts/{account[0]}", auth=account,
                      timeout=30) as session:
        yield session


@pytest.fixture
def message_sid(client: Client, sender: str) -> str:
    sid: str = client.messages.create(to="+15558675310", from_=sender, body="seed").sid
    return sid


def refused(response: httpx.Response, *, code: int = 20001, says: str = "") -> None:
    clients.checked(response)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == code and body["status"] == 400
    assert says in body["message"], body["message"]


@pytest.mark.parametrize(("path", "query", "says"), [
    pytest.param("/Messages.json", {"DateSent": "9999-12-31"}, "DateSent must be a day from", id="DateSent"),
    pytest.param("/Messages.json", {"DateSent<": "9999-12-31"}, "DateSent< must be a day from", id="DateSent<"),
    pytest.param("/Messages.json", {"DateSent>": "9999-12-31T00:00:00Z"}, "DateSent> must", id="DateSent>"),
    pytest.param("/Messages.json", {"DateSent>": "0001-01-01T00:00:00+01:00"}, "DateSent> must",
                 id="offset-before-year-1"),
    pytest.param("/Messages/{message}/Media.json", {"DateCreated<": "9999-12-31"}, "DateCreated< must",
                 id="media-DateCreated<"),
    pytest.param("/Messages/{message}/Media.json", {"DateCreated": "9999-12-31"}, "DateCreated must",
                 id="media-DateCreated"),
    pytest.param("/Usage/Records.json", {"EndDate": "9999-12-31"}, "EndDate must be a day from", id="usage-EndDate"),
    pytest.param("/Usage/Records/Daily.json", {"StartDate": "9999-12-31"}, "StartDate must", id="usage-StartDate"),
])
def test_a_date_past_the_calendar_is_refused_400(http: httpx.Client, message_sid: str, path: str,
                                                 query: dict[str, str], says: str) -> None:
    refused(http.get(path.format(message=message_sid), params=query), says=says)


def test_the_last_day_a_filter_may_name_is_answered_and_the_next_refused(http: httpx.Client,
                                                                        message_sid: str) -> None:
    listed = clients.checked(http.get("/Messages.json", params={"DateSent<": "9999-12-30"}))
    assert [message["sid"] for message in listed.json()["messages"]] == [message_sid]
    refused(http.get("/Messages.json", params={"DateSent<": "9999-12-31"}),
            says="DateSent< must be a day from 0001-01-01 to 9999-12-30, not '9999-12-31'")


@pytest.mark.parametrize("path", ["/Messages.json", "/Messages/{message}/Media.json", "/IncomingPhoneNumbers.json",
                                  "/Applications.json", "/Keys.json", "/Usage/Records.json",
                                  "/Usage/Records/Daily.json", "/AvailablePhoneNumbers/US/Local.json"])
def test_a_20_digit_page_is_refused_400(http: httpx.Client, message_sid: str, path: str) -> None:
    refused(http.get(path.format(message=message_sid), params={"Page": "9" * 20}), says="Page must be between 0")


def test_a_20_digit_page_of_accounts_is_refused_400(loft: LoftServer) -> None:
    answer = httpx.get(f"{loft.base_url}/2010-04-01/Accounts.json", params={"Page": "9" * 20},
                       auth=(loft.account_sid, loft.auth_token), timeout=30)
    refused(answer, says="Page must be between 0")


def test_the_sdk_sees_twilio_s_error_for_an_out_of_range_date(client: Client) -> None:
    from datetime import date

    with pytest.raises(TwilioException, match="Unable to fetch page") as caught:
        client.messages.list(date_sent_before=date(9999, 12, 31))
    assert '"code":20001' in str(caught.value) and "DateSent< must be a day from" in str(caught.value)


def test_daily_usage_over_the_whole_calendar_renders_only_its_page(http: httpx.Client) -> None:
    """``Daily`` from 0001-01-01 to 9999-12-30 is forty million records: only the page asked for is made."""
    query = {"StartDate": "0001-01-01", "EndDate": "9999-12-30", "PageSize": "3"}
    started = time.monotonic()
    first = clients.checked(http.get("/Usage/Records/Daily.json", params=query)).json()
    last_page = (3_652_058 * 11 - 1) // 3
    last = clients.checked(http.get("/Usage/Records/Daily.json", params={**query, "Page": str(last_page)})).json()
    assert time.monotonic() - started < 20  # (a bound on the wait, not a speed check: the old code never ended)
    assert [(r["start_date"], r["category"]) for r in first["usage_records"]] == [
        ("0001-01-01", "mms"), ("0001-01-01", "mms-inbound"), ("0001-01-01", "mms-outbound")]
    assert first["next_page_uri"] is not None
    assert [(r["start_date"], r["category"]) for r in last["usage_records"]] == [("9999-12-30", "totalprice")]
    assert last["next_page_uri"] is None and last["start"] == last_page * 3


@pytest.fixture
def console(loft: LoftServer, account: tuple[str, str], message_sid: str) -> Iterator[httpx.Client]:
    """A console session of the test's account (signed in as a browser would: the form, its CSRF token)."""
    with httpx.Client(base_url=loft.base_url, timeout=30) as http:
        form = http.get("/console/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        signed_in = http.post("/console/signin", data={"csrf_token": token[1], "username": account[0],
                                                       "password": account[1]})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console"
        yield http


@pytest.mark.parametrize(("query", "shows"), [
    pytest.param({"page": "9" * 20}, "No messages", id="20-digit-page"),
    pytest.param({"date_to": "9999-12-31"}, "Dates run from 0001-01-01 to 9999-12-30.", id="date-past-the-calendar"),
    pytest.param({"date_from": "0001-01-01", "page": "1" + "0" * 18}, "No messages", id="both"),
])
def test_the_console_message_log_takes_absurd_pages_and_dates(console: httpx.Client, query: dict[str, str],
                                                              shows: str) -> None:
    page = console.get("/console/messages", params=query)
    assert page.status_code == 200, page.text[:500]
    assert shows in page.text


# NUL characters: PostgreSQL refuses them in text, SQLite stores them; both refuse them before any query -----------


@pytest.mark.parametrize(("method", "path", "form", "says"), [
    pytest.param("GET", "/Messages/SM%00.json", None, "path contains a NUL", id="fetch-sid"),
    pytest.param("DELETE", "/IncomingPhoneNumbers/PN%00.json", None, "path contains a NUL", id="delete-sid"),
    pytest.param("GET", "/Messages.json?To=%2B1555%00", None, "'To' parameter contains a NUL", id="list-query"),
    pytest.param("GET", "/IncomingPhoneNumbers.json?FriendlyName=a%00b", None, "'FriendlyName' parameter",
                 id="numbers-query"),
    pytest.param("GET", "/Messages.json?Date%00Sent=1", None, "parameter name contains a NUL", id="query-name"),
    pytest.param("POST", "/Messages.json", {"To": "+15558675310", "From": "+15005550006", "Body": "a\x00b"},
                 "'Body' parameter contains a NUL", id="create-body"),
    pytest.param("POST", "/IncomingPhoneNumbers.json", {"AreaCode": "415", "FriendlyName": "a\x00"},
                 "'FriendlyName' parameter contains a NUL", id="buy-friendly-name"),
    pytest.param("POST", "/Applications.json", {"FriendlyName": "\x00"}, "'FriendlyName'", id="create-app"),
    pytest.param("POST", "/Messages/SM00000000000000000000000000000000.json", {"Body": "\x00"}, "'Body'",
                 id="update-message"),
])
def test_a_nul_character_is_refused_400_naming_its_parameter(http: httpx.Client, method: str, path: str,
                                                             form: dict[str, str] | None, says: str) -> None:
    refused(http.request(method, path, data=form), says=says)


def test_a_nul_character_leaves_nothing_written(http: httpx.Client) -> None:
    refused(http.post("/IncomingPhoneNumbers.json", data={"AreaCode": "415", "FriendlyName": "x\x00"}))
    assert clients.checked(http.get("/IncomingPhoneNumbers.json")).json()["incoming_phone_numbers"] == []


def test_a_nul_character_in_the_path_of_a_create_is_refused(loft: LoftServer, account: tuple[str, str]) -> None:
    answer = httpx.post(f"{loft.base_url}/2010-04-01/Accounts/{account[0]}%00/Messages.json",
                        data={"To": "+15558675310", "From": "+15005550006", "Body": "x"}, auth=account, timeout=30)
    refused(answer, says="path contains a NUL")


def test_a_nul_character_in_an_xml_request_is_refused_in_xml(http: httpx.Client) -> None:
    answer = http.get("/Messages?To=%00")
    assert answer.status_code == 400
    assert "<Code>20001</Code>" in answer.text and "NUL" in answer.text


def test_a_nul_character_is_refused_by_the_simulator_and_the_console(loft: LoftServer,
                                                                     account: tuple[str, str]) -> None:
    with httpx.Client(base_url=loft.base_url, timeout=30) as http:
        sim = http.post("/sim/v1/Handsets/%2B15558675310/Messages", data={"To": "+15005550006", "Body": "\x00"},
                        auth=account)
        signin = http.post("/console/signin", data={"username": "\x00", "password": "x"})
    assert sim.status_code == 400 and "NUL" in sim.text
    assert signin.status_code == 400 and "NUL" in signin.text


# Log lines ------------------------------------------------------------------------------------------------------


def test_a_logged_path_cannot_start_a_line_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn decodes ``%0A`` in a path: the error handler logs it escaped."""
    path = "/2010-04-01/Accounts/AC1/Messages/SM\n2025-01-01 CRITICAL forged.json"
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [], "loft.path": path}  # (the path as written, kept by loft.front.in_twilio_format)
    with caplog.at_level(logging.ERROR, logger="loft"):
        asyncio.run(application.server_error(Request(scope), RuntimeError("boom")))
    [record] = [r for r in caplog.records if r.name == "loft"]
    line = record.getMessage()
    assert "SM\\n2025-01-01 CRITICAL forged.json" in line
    assert "\n" not in line


def test_an_outages_reason_cannot_start_a_line_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    """The database's message (which may quote what it was given) is logged escaped by the outage's log."""
    async def main() -> None:
        health = Health()
        health.refused(DatabaseUnavailable("refused\n2025-01-01 CRITICAL forged too", writing=True))
        health.close()

    with caplog.at_level(logging.ERROR, logger="loft.db"):
        asyncio.run(main())
    [line] = [r.getMessage() for r in caplog.records if r.name == "loft.db"]
    assert "refused\\n2025-01-01 CRITICAL forged too" in line and "\n" not in line
