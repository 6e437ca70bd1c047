"""``loft numbers search|buy|list|configure`` and the connection options every tool shares."""

from __future__ import annotations

import importlib.util
import json

import httpx
import pytest
from twilio.rest import Client

from loft.terminal import numbers
from loft.terminal.client import LoftClient, TerminalError
from tests.support.receiver import Receiver
from tests.terminal.conftest import Cli

SEARCH_EXISTS = importlib.util.find_spec("loft.numbers.available") is not None


def test_buy_by_area_code_with_messaging_settings(client: Client, receiver: Receiver, cli: Cli) -> None:
    result = cli("numbers", "buy", "--area-code", "415", "--sms-url", receiver.url("/in"), "--sms-method", "get",
                 "--friendly-name", "support line")
    assert result.exit_code == 0, result.output
    (number,) = client.incoming_phone_numbers.list()
    assert number.phone_number.startswith("+1415") and f"Bought {number.phone_number}" in result.output
    assert (number.sms_url, number.sms_method, number.friendly_name) == (receiver.url("/in"), "GET", "support line")
    assert number.sid in result.output


def test_buy_a_given_number_and_buying_it_twice_is_refused(client: Client, cli: Cli) -> None:
    assert cli("numbers", "buy", "+14155550188").exit_code == 0
    assert [n.phone_number for n in client.incoming_phone_numbers.list()] == ["+14155550188"]
    again = cli("numbers", "buy", "+14155550188")
    assert again.exit_code == 1 and "Error 21422" in again.output and "Traceback" not in again.output


def test_list_shows_numbers_and_where_their_messages_go(client: Client, sender: str, cli: Cli) -> None:
    app = client.applications.create(friendly_name="bot", sms_url="https://bot.test/sms")
    other = client.incoming_phone_numbers.create(area_code="212", sms_application_sid=app.sid)
    table = cli("numbers", "list")
    assert table.exit_code == 0
    assert sender in table.output and other.phone_number in table.output and f"app {app.sid}" in table.output
    records = json.loads(cli("numbers", "list", "--json").output)
    assert sorted(record["phone_number"] for record in records) == sorted([sender, other.phone_number])
    # "+1212" can only begin a number, and the sender's begins "+1415"; a bare "212" may be anywhere in the sender's
    only = json.loads(cli("numbers", "list", "--json", "--contains", other.phone_number[:5]).output)
    assert [record["phone_number"] for record in only] == [other.phone_number]


def test_list_of_an_account_without_numbers(cli: Cli) -> None:
    result = cli("numbers", "list")
    assert result.exit_code == 0 and "No numbers" in result.output


def test_configure_by_number_and_by_sid(client: Client, sender: str, receiver: Receiver, cli: Cli) -> None:
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    app = client.applications.create(friendly_name="bot")
    result = cli("numbers", "configure", sender, "--sms-url", receiver.url("/a"), "--sms-method", "GET",
                 "--sms-fallback-url", receiver.url("/b"), "--sms-fallback-method", "post",
                 "--status-callback", receiver.url("/c"), "--sms-application-sid", app.sid)
    assert result.exit_code == 0, result.output
    assert f"Updated {sender}" in result.output and f"GET {receiver.url('/a')}" in result.output
    fetched = client.incoming_phone_numbers(number.sid).fetch()
    assert (fetched.sms_url, fetched.sms_method, fetched.sms_fallback_url, fetched.sms_fallback_method,
            fetched.status_callback, fetched.sms_application_sid) == (
        receiver.url("/a"), "GET", receiver.url("/b"), "POST", receiver.url("/c"), app.sid)

    cleared = cli("numbers", "configure", number.sid, "--sms-application-sid", "", "--sms-url", "")
    assert cleared.exit_code == 0, cleared.output
    fetched = client.incoming_phone_numbers(number.sid).fetch()
    assert fetched.sms_application_sid is None and fetched.sms_url in (None, "")
    assert fetched.sms_fallback_url == receiver.url("/b")  # untouched

    by_digits = cli("numbers", "configure", sender[2:], "--json")  # no '+1': the number it ends with
    assert json.loads(by_digits.output)["sid"] == number.sid


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["+19998887777"], "is not a number of account", id="not-owned"),
    pytest.param(["PN" + "0" * 32], "Error 20404", id="unknown-sid"),
    pytest.param(["nonsense"], "neither a phone number nor a PN SID", id="not-a-number"),
    pytest.param(["{sender}", "--sms-method", "PUT"], "not 'PUT'", id="bad-method"),
    pytest.param(["{sender}", "--sms-application-sid", "AP" + "0" * 32], "is not an Application", id="foreign-app"),
])
def test_configure_errors_are_one_clean_line(sender: str, cli: Cli, args: list[str], message: str) -> None:
    result = cli("numbers", "configure", *[arg.format(sender=sender) for arg in args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.skipif(not SEARCH_EXISTS, reason="AvailablePhoneNumbers is not in this tree yet")
def test_search_lists_numbers_for_sale_and_buy_takes_the_first(client: Client, cli: Cli) -> None:
    found = json.loads(cli("numbers", "search", "--area-code", "415", "--limit", "5", "--json").output)
    assert 1 <= len(found) <= 5 and all(record["phone_number"].startswith("+1415") for record in found)
    table = cli("numbers", "search", "--area-code", "415", "--limit", "5")
    assert found[0]["phone_number"] in table.output
    bought = cli("numbers", "buy", "--json")
    assert bought.exit_code == 0, bought.output
    assert [n.phone_number for n in client.incoming_phone_numbers.list()] == [json.loads(bought.output)["phone_number"]]


@pytest.mark.skipif(not SEARCH_EXISTS, reason="AvailablePhoneNumbers is not in this tree yet")
@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--country", "US", "--type", "mobile"], "No Mobile numbers are for sale in US; try --type",
                 id="kind-not-sold-there"),
    pytest.param(["--country", "ZZ"], "No numbers are for sale in ZZ; countries: ", id="unknown-country"),
])
def test_search_explains_what_is_not_for_sale(cli: Cli, args: list[str], message: str) -> None:
    result = cli("numbers", "search", *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_search_against_a_server_without_available_numbers_says_how_to_buy_instead() -> None:
    """An older (or remote) Loft without AvailablePhoneNumbers: every path under it is Twilio's 404."""
    def handle(request: httpx.Request) -> httpx.Response:
        assert "/AvailablePhoneNumbers" in request.url.path
        return httpx.Response(404, json={"code": 20404, "message": f"The requested resource {request.url.path} "
                                         "was not found", "more_info": "https://www.twilio.com/docs/errors/20404",
                                         "status": 404})

    client = LoftClient("http://old-loft.test", "AC" + "1" * 32, "token", "AC" + "1" * 32,
                        transport=httpx.MockTransport(handle))
    with pytest.raises(TerminalError, match="loft numbers buy --area-code"):
        numbers.available(client, country="US", kind="local", area_code="415", contains=None, sms=False, mms=False,
                          limit=5)


def test_search_refuses_an_unknown_type(cli: Cli) -> None:
    result = cli("numbers", "search", "--type", "premium")
    assert result.exit_code == 1 and "Unknown number type" in result.output


def test_an_api_key_works_instead_of_the_auth_token(client: Client, sender: str, cli: Cli) -> None:
    key = client.new_keys.create(friendly_name="terminal")
    account_sid = cli.connection[3]
    result = cli("numbers", "list", "--json", "--account-sid", account_sid, "--api-key", key.sid,
                 "--api-secret", key.secret, "--url", cli.connection[1], connect=False)
    assert result.exit_code == 0, result.output
    assert [record["phone_number"] for record in json.loads(result.output)] == [sender]


def test_a_wrong_auth_token_is_one_clean_line(cli: Cli) -> None:
    cli.connection[-1] = "0" * 32
    result = cli("numbers", "list")
    assert result.exit_code == 1 and "Error 20003" in result.output and "Traceback" not in result.output


def test_an_api_key_without_its_secret_is_explained(cli: Cli) -> None:
    result = cli("numbers", "list", "--api-key", "SK" + "0" * 32)
    assert result.exit_code == 1 and "needs its secret" in result.output


def test_missing_credentials_and_an_unreachable_server_are_explained(cli: Cli) -> None:
    missing = cli("numbers", "list", connect=False)
    assert missing.exit_code == 1 and "--account-sid" in missing.output
    unreachable = cli("numbers", "list", "--url", "http://127.0.0.1:9", "--account-sid", "AC" + "0" * 32,
                      "--auth-token", "x", connect=False)
    assert unreachable.exit_code == 1 and "Cannot reach Loft at http://127.0.0.1:9" in unreachable.output
