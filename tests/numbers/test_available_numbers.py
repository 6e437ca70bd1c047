"""AvailablePhoneNumbers and buying by kind, through the official SDK (every JSON answer checked against the spec)."""

from __future__ import annotations

import json
import secrets
from typing import Any
from xml.etree import ElementTree

import httpx
import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer

#: (country, SDK attribute, libphonenumber types a number of that kind may have)
SEARCHES = [
    pytest.param("US", "local", {PhoneNumberType.FIXED_LINE_OR_MOBILE}, id="US-local"),
    pytest.param("US", "toll_free", {PhoneNumberType.TOLL_FREE}, id="US-toll_free"),
    pytest.param("CA", "local", {PhoneNumberType.FIXED_LINE_OR_MOBILE}, id="CA-local"),
    pytest.param("GB", "local", {PhoneNumberType.FIXED_LINE}, id="GB-local"),
    pytest.param("GB", "mobile", {PhoneNumberType.MOBILE}, id="GB-mobile"),
    pytest.param("GB", "voip", {PhoneNumberType.VOIP}, id="GB-voip"),
    pytest.param("GB", "national", {PhoneNumberType.UAN}, id="GB-national"),
    pytest.param("FR", "mobile", {PhoneNumberType.MOBILE}, id="FR-mobile"),
    pytest.param("FR", "shared_cost", {PhoneNumberType.SHARED_COST}, id="FR-shared_cost"),
    pytest.param("DE", "local", {PhoneNumberType.FIXED_LINE}, id="DE-local"),
    pytest.param("DE", "toll_free", {PhoneNumberType.TOLL_FREE}, id="DE-toll_free"),
    pytest.param("AU", "mobile", {PhoneNumberType.MOBILE}, id="AU-mobile"),
    pytest.param("JP", "local", {PhoneNumberType.FIXED_LINE}, id="JP-local"),
]


def _error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        call()
    return info.value


def _list_error(call: Any) -> tuple[int, int]:
    """(HTTP status, Twilio code) of a list call that fails: twilio-python raises a bare TwilioException
    ("Unable to fetch page") carrying the response."""
    with pytest.raises(TwilioException) as info:
        call()
    response = info.value.args[1]
    return int(response.status_code), int(json.loads(response.text)["code"])


def _parsed(number: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(number, None)


def _numbers(found: list[Any]) -> list[str]:
    return [str(n.phone_number) for n in found]


@pytest.fixture
def other_client(loft: LoftServer, main_client: Client) -> Client:
    created = main_client.api.accounts.create(friendly_name="other")
    return clients.sdk(loft.base_url, created.sid, created.auth_token)


# --- The countries ------------------------------------------------------------------------------------------

def test_country_list_names_each_country_with_the_kinds_it_sells(client: Client) -> None:
    countries = {c.country_code: c for c in client.available_phone_numbers.list()}
    assert {"US", "CA", "GB", "FR", "DE", "AU"} <= set(countries)
    us = countries["US"]
    assert us.country == "United States" and us.beta is False
    assert us.uri == f"/2010-04-01/Accounts/{client.account_sid}/AvailablePhoneNumbers/US.json"
    assert set(us.subresource_uris) == {"local", "toll_free"}
    assert us.subresource_uris["toll_free"].endswith("/AvailablePhoneNumbers/US/TollFree.json")
    assert {"local", "mobile", "toll_free"} <= set(countries["GB"].subresource_uris)
    assert "shared_cost" in countries["FR"].subresource_uris


def test_country_list_body_is_countries_and_uri(loft: LoftServer, account: tuple[str, str]) -> None:
    response = clients.checked(httpx.get(
        f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers.json", auth=account))
    assert response.status_code == 200
    assert set(response.json()) == {"countries", "uri"}


def test_fetch_one_country(client: Client) -> None:
    gb = client.available_phone_numbers("GB").fetch()
    assert gb.country_code == "GB" and gb.country == "United Kingdom"
    assert gb.subresource_uris["mobile"] == (
        f"/2010-04-01/Accounts/{client.account_sid}/AvailablePhoneNumbers/GB/Mobile.json")


@pytest.mark.parametrize("call", [
    pytest.param(lambda c: c.available_phone_numbers("XX").fetch(), id="fetch"),
    pytest.param(lambda c: c.available_phone_numbers("XX").local.list(), id="search"),
    pytest.param(lambda c: c.available_phone_numbers("US").mobile.list(), id="kind-the-country-lacks"),
    pytest.param(lambda c: c.available_phone_numbers("GB").machine_to_machine.list(), id="kind-nobody-sells"),
])
def test_unknown_country_or_kind_is_twilio_404(client: Client, call: Any) -> None:
    with pytest.raises(TwilioException) as info:
        call(client)
    error = info.value
    if isinstance(error, TwilioRestException):
        assert (error.status, error.code) == (404, 20404)
    else:
        assert (error.args[1].status_code, json.loads(error.args[1].text)["code"]) == (404, 20404)


# --- Searching ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("country", "kind", "types"), SEARCHES)
def test_search_offers_valid_numbers_of_the_country_and_kind(client: Client, country: str, kind: str,
                                                              types: set[int]) -> None:
    found = getattr(client.available_phone_numbers(country), kind).list(limit=20)
    assert 10 <= len(found) <= 20
    assert len(set(_numbers(found))) == len(found)
    for number in found:
        parsed = _parsed(number.phone_number)
        assert phonenumbers.is_valid_number_for_region(parsed, country), number.phone_number
        assert phonenumbers.number_type(parsed) in types, number.phone_number
        assert number.iso_country == country
        assert number.beta is False
        assert number.address_requirements in ("none", "any", "local", "foreign")


def test_same_search_gives_the_same_list(client: Client, other_client: Client) -> None:
    first = _numbers(client.available_phone_numbers("US").local.list(area_code="212", limit=15))
    assert first == _numbers(client.available_phone_numbers("US").local.list(area_code="212", limit=15))
    assert first[:5] == _numbers(client.available_phone_numbers("US").local.list(area_code="212", limit=5))
    assert first == _numbers(other_client.available_phone_numbers("US").local.list(area_code="212", limit=15))


def test_area_code_and_contains_letters(client: Client) -> None:
    found = client.available_phone_numbers("US").local.list(area_code="415", contains="STORM", limit=10)
    assert found
    for number in found:
        assert number.phone_number.startswith("+1415")
        assert "78676" in number.phone_number[2:]


@pytest.mark.parametrize(("contains", "check"), [
    pytest.param("510555****", lambda n: n.startswith("+1510555"), id="wildcards"),
    pytest.param("+1212%", lambda n: n.startswith("+1212"), id="anchored-start"),
    pytest.param("42$", lambda n: n.endswith("42"), id="anchored-end"),
    pytest.param("*LOFT*", lambda n: "5638" in n[2:], id="letters-between-wildcards"),
])
def test_contains_patterns(client: Client, contains: str, check: Any) -> None:
    found = client.available_phone_numbers("US").local.list(contains=contains, limit=10)
    assert found
    assert all(check(number.phone_number) for number in found), _numbers(found)


def test_toll_free_by_area_code(client: Client) -> None:
    found = client.available_phone_numbers("US").toll_free.list(area_code="888", limit=5)
    assert len(found) == 5 and all(n.phone_number.startswith("+1888") for n in found)
    assert all(n.capabilities["sms"] for n in found)


def test_us_local_numbers_carry_their_place(client: Client) -> None:
    found = client.available_phone_numbers("US").local.list(in_locality="San Francisco", limit=10)
    assert len(found) == 10
    for number in found:
        assert number.locality == "San Francisco" and number.region == "CA"
        assert number.postal_code == "94103" and number.lata == "722"
        assert number.rate_center == "SAN FRANCISCO"
        assert abs(float(number.latitude) - 37.77) < 0.1 and abs(float(number.longitude) + 122.42) < 0.1
        digits = number.phone_number
        assert number.friendly_name == f"({digits[2:5]}) {digits[5:8]}-{digits[8:]}"


@pytest.mark.parametrize(("filters", "check"), [
    pytest.param({"in_region": "TX"}, lambda n: n.region == "TX", id="InRegion"),
    pytest.param({"in_postal_code": "02108"}, lambda n: n.locality == "Boston", id="InPostalCode"),
    pytest.param({"in_lata": "358"}, lambda n: n.lata == "358", id="InLata"),
    pytest.param({"in_lata": "722", "in_rate_center": "Oakland"}, lambda n: n.rate_center == "OAKLAND",
                 id="InRateCenter"),
    pytest.param({"near_lat_long": "37.77,-122.42", "distance": 30},
                 lambda n: n.locality in ("San Francisco", "Oakland", "San Jose"), id="NearLatLong"),
    pytest.param({"near_number": "+12125550123"}, lambda n: n.locality == "New York", id="NearNumber"),
    pytest.param({"in_region": "+14155550123"}, lambda n: n.region == "CA", id="InRegion-given-a-number"),
])
def test_us_place_filters(client: Client, filters: dict[str, Any], check: Any) -> None:
    found = client.available_phone_numbers("US").local.list(limit=10, **filters)
    assert found
    assert all(check(number) for number in found), [(n.phone_number, n.locality, n.region) for n in found]


def test_canadian_region(client: Client) -> None:
    found = client.available_phone_numbers("CA").local.list(in_region="ON", limit=10)
    assert found and all(n.region == "ON" and n.iso_country == "CA" for n in found)


def test_in_locality_outside_north_america(client: Client) -> None:
    found = client.available_phone_numbers("GB").local.list(in_locality="London", limit=10)
    assert found and all(n.locality == "London" and n.phone_number.startswith("+4420") for n in found)
    assert all(n.latitude is None and n.region is None for n in found)


@pytest.mark.parametrize("filters", [
    pytest.param({"in_region": "ENG"}, id="InRegion"),
    pytest.param({"in_postal_code": "SW1A 1AA"}, id="InPostalCode"),
    pytest.param({"near_lat_long": "51.5,-0.12"}, id="NearLatLong"),
])
def test_filters_loft_has_no_data_for_give_an_empty_list(client: Client, filters: dict[str, Any]) -> None:
    assert client.available_phone_numbers("GB").local.list(**filters) == []


def test_capability_filters(client: Client) -> None:
    assert client.available_phone_numbers("GB").local.list(sms_enabled=True) == []
    mobiles = client.available_phone_numbers("GB").mobile.list(sms_enabled=True, limit=5)
    assert len(mobiles) == 5 and all(n.capabilities["sms"] for n in mobiles)
    faxes = client.available_phone_numbers("DE").local.list(fax_enabled=True, voice_enabled=True, limit=5)
    assert len(faxes) == 5 and all(n.capabilities["fax"] for n in faxes)
    us = client.available_phone_numbers("US").local.list(mms_enabled=True, sms_enabled=True, limit=5)
    assert all(n.capabilities["mms"] for n in us)


def test_capabilities_carry_both_spellings(client: Client) -> None:
    number = client.available_phone_numbers("US").local.list(limit=1)[0]
    assert number.capabilities["SMS"] is True and number.capabilities["sms"] is True
    assert number.capabilities["MMS"] is True and number.capabilities["voice"] is True


def test_address_exclusions(client: Client) -> None:
    assert {n.address_requirements for n in client.available_phone_numbers("DE").local.list(limit=5)} == {"local"}
    assert client.available_phone_numbers("DE").local.list(exclude_local_address_required=True) == []
    assert client.available_phone_numbers("GB").local.list(exclude_all_address_required=True) == []
    assert len(client.available_phone_numbers("GB").mobile.list(exclude_all_address_required=True, limit=3)) == 3


def test_page_size_is_capped_at_fifty(client: Client) -> None:
    assert len(client.available_phone_numbers("US").local.list(limit=80)) == 50
    assert len(client.available_phone_numbers("US").local.list()) == 50


def test_magic_area_code_has_no_numbers(client: Client) -> None:
    assert client.available_phone_numbers("US").local.list(area_code="533") == []


@pytest.mark.parametrize(("filters", "code"), [
    pytest.param({"contains": "1"}, 20001, id="Contains-too-short"),
    pytest.param({"contains": "1234567890123456789"}, 20001, id="Contains-too-long"),
    pytest.param({"contains": "12-34"}, 20001, id="Contains-bad-character"),
    pytest.param({"contains": "**"}, 20001, id="Contains-only-wildcards"),
    pytest.param({"contains": "12+3"}, 20001, id="Contains-plus-inside"),
    pytest.param({"area_code": "12"}, 21451, id="AreaCode-short"),
    pytest.param({"area_code": "099"}, 21451, id="AreaCode-leading-zero"),
    pytest.param({"distance": 501, "near_number": "+14155550123"}, 20001, id="Distance-too-far"),
    pytest.param({"near_lat_long": "north"}, 20001, id="NearLatLong-malformed"),
    pytest.param({"near_number": "12"}, 20001, id="NearNumber-malformed"),
    pytest.param({"in_rate_center": "OAKLAND"}, 20001, id="InRateCenter-without-InLata"),
])
def test_bad_filters_get_twilio_errors(client: Client, filters: dict[str, Any], code: int) -> None:
    assert _list_error(lambda: client.available_phone_numbers("US").local.list(**filters)) == (400, code)


def test_bad_boolean_is_refused(loft: LoftServer, account: tuple[str, str]) -> None:
    response = clients.checked(httpx.get(
        f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers/US/Local.json",
        params={"SmsEnabled": "maybe"}, auth=account))
    assert response.status_code == 400 and response.json()["code"] == 20001


def test_search_body_is_numbers_and_uri(loft: LoftServer, account: tuple[str, str]) -> None:
    response = clients.checked(httpx.get(
        f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers/US/Local.json",
        params={"AreaCode": "415", "PageSize": "3"}, auth=account))
    body = response.json()
    assert set(body) == {"available_phone_numbers", "uri"}
    assert len(body["available_phone_numbers"]) == 3
    assert body["uri"].startswith(f"/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers/US/Local.json?")
    assert isinstance(body["available_phone_numbers"][0]["latitude"], (float, type(None)))


def test_search_answers_xml_without_suffix(loft: LoftServer, account: tuple[str, str]) -> None:
    response = httpx.get(
        f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers/US/Local",
        params={"InLocality": "Boston", "PageSize": "2"}, auth=account)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    listing = root.find("AvailablePhoneNumbers")
    assert listing is not None
    assert listing.get("uri", "").startswith(f"/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers/US/Local?")
    items = listing.findall("AvailablePhoneNumber")
    assert len(items) == 2
    assert items[0].findtext("Locality") == "Boston" and items[0].findtext("Latitude") == "42.360100"
    assert items[0].findtext("Capabilities/SMS") == "true"


def test_countries_answer_xml(loft: LoftServer, account: tuple[str, str]) -> None:
    base = f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers"
    root = ElementTree.fromstring(httpx.get(base, auth=account).content)
    codes = [c.findtext("CountryCode") for c in root.iterfind("Countries/Country")]
    assert "US" in codes and "GB" in codes
    one = ElementTree.fromstring(httpx.get(f"{base}/GB.xml", auth=account).content)
    mobile = one.findtext("Country/SubresourceUris/Mobile")
    assert mobile == f"/2010-04-01/Accounts/{account[0]}/AvailablePhoneNumbers/GB/Mobile"


# --- Buying by kind -----------------------------------------------------------------------------------------

def test_a_bought_number_leaves_the_search(client: Client, other_client: Client) -> None:
    before = _numbers(client.available_phone_numbers("US").local.list(area_code="303", limit=10))
    bought = client.incoming_phone_numbers.local.create(phone_number=before[3])
    assert bought.phone_number == before[3]
    after = _numbers(client.available_phone_numbers("US").local.list(area_code="303", limit=10))
    assert before[3] not in after
    assert after[:9] == before[:3] + before[4:]
    assert before[3] not in _numbers(other_client.available_phone_numbers("US").local.list(area_code="303", limit=10))
    client.incoming_phone_numbers(bought.sid).delete()
    assert _numbers(client.available_phone_numbers("US").local.list(area_code="303", limit=10)) == before


@pytest.mark.parametrize(("country", "search", "buy", "stored"), [
    pytest.param("US", "local", "local", "local", id="US-local"),
    pytest.param("US", "toll_free", "toll_free", "tollFree", id="US-toll_free"),
    pytest.param("GB", "mobile", "mobile", "mobile", id="GB-mobile"),
    pytest.param("FR", "local", "local", "local", id="FR-local"),
    pytest.param("AU", "toll_free", "toll_free", "tollFree", id="AU-toll_free"),
])
def test_buy_what_the_search_offers(client: Client, country: str, search: str, buy: str, stored: str) -> None:
    offers = getattr(client.available_phone_numbers(country), search).list(limit=20)
    wanted = offers[secrets.randbelow(len(offers))].phone_number
    number = getattr(client.incoming_phone_numbers, buy).create(phone_number=wanted, friendly_name="bought")
    assert number.phone_number == wanted and number.friendly_name == "bought"
    assert number.sid.startswith("PN") and number.account_sid == client.account_sid
    assert client.incoming_phone_numbers(number.sid).fetch().type == stored


@pytest.mark.parametrize(("buy", "country", "kind"), [
    pytest.param("local", "GB", "mobile", id="mobile-as-local"),
    pytest.param("toll_free", "US", "local", id="local-as-toll-free"),
    pytest.param("mobile", "US", "local", id="north-american-as-mobile"),
    pytest.param("local", "FR", "shared_cost", id="shared-cost-as-local"),
])
def test_buying_a_number_of_another_kind_is_21422(client: Client, buy: str, country: str, kind: str) -> None:
    wanted = getattr(client.available_phone_numbers(country), kind).list(limit=1)[0].phone_number
    error = _error(lambda: getattr(client.incoming_phone_numbers, buy).create(phone_number=wanted))
    assert error.status == 400 and error.code == 21422
    assert client.incoming_phone_numbers.list(phone_number=wanted) == []


@pytest.mark.parametrize(("phone_number", "code"), [
    pytest.param("+15005550000", 21422, id="magic-unavailable"),
    pytest.param("+15005550001", 21421, id="magic-invalid"),
    pytest.param("+1415", 21421, id="malformed"),
])
def test_typed_buy_keeps_twilio_errors(client: Client, phone_number: str, code: int) -> None:
    error = _error(lambda: client.incoming_phone_numbers.local.create(phone_number=phone_number))
    assert error.status == 400 and error.code == code


def test_typed_buy_of_an_owned_number_is_21422(client: Client, other_client: Client) -> None:
    wanted = client.available_phone_numbers("US").local.list(area_code="617", limit=1)[0].phone_number
    client.incoming_phone_numbers.local.create(phone_number=wanted)
    for buyer in (client, other_client):
        error = _error(lambda: buyer.incoming_phone_numbers.local.create(phone_number=wanted))
        assert error.code == 21422


def test_typed_buy_by_area_code(loft: LoftServer, account: tuple[str, str]) -> None:
    """Not in the SDK's typed create, but the form IncomingPhoneNumbers.json takes works here as well."""
    base = f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/IncomingPhoneNumbers"

    def buy(kind: str, area_code: str) -> httpx.Response:
        return clients.checked(httpx.post(f"{base}/{kind}.json", data={"AreaCode": area_code}, auth=account))

    toll_free = buy("TollFree", "877")
    assert toll_free.status_code == 201 and toll_free.json()["phone_number"].startswith("+1877")
    assert buy("Local", "720").json()["phone_number"].startswith("+1720")
    for kind, area_code in (("Local", "533"), ("Local", "877"), ("TollFree", "720")):
        refused = buy(kind, area_code)
        assert refused.status_code == 400 and refused.json()["code"] == 21452, (kind, area_code)


def test_typed_lists_hold_only_their_kind(client: Client) -> None:
    local = client.available_phone_numbers("US").local.list(limit=1)[0].phone_number
    toll_free = client.available_phone_numbers("US").toll_free.list(limit=1)[0].phone_number
    mobile = client.available_phone_numbers("GB").mobile.list(limit=1)[0].phone_number
    client.incoming_phone_numbers.local.create(phone_number=local)
    client.incoming_phone_numbers.toll_free.create(phone_number=toll_free)
    client.incoming_phone_numbers.create(phone_number=mobile)
    assert _numbers(client.incoming_phone_numbers.local.list()) == [local]
    assert _numbers(client.incoming_phone_numbers.toll_free.list()) == [toll_free]
    assert _numbers(client.incoming_phone_numbers.mobile.list()) == [mobile]
    assert set(_numbers(client.incoming_phone_numbers.list())) == {local, toll_free, mobile}
    assert _numbers(client.incoming_phone_numbers.local.list(phone_number=local[2:8])) == [local]
