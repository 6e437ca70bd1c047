"""A service's sender pool through the SDK: ``PhoneNumbers``, ``AlphaSenders``, ``DestinationAlphaSenders``,
``ShortCodes`` and ``ChannelSenders`` (Loft has no short codes to add; RCS senders join in tests/senders/), and
Twilio's codes for what a pool refuses (21421, 21712, 21714, 21715)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from tests.messaging_services.conftest import refused, unused_number
from tests.support import clients
from tests.support.server import LoftServer


def test_a_number_joins_the_pool_with_its_country_and_capabilities(loft: LoftServer, client: Client,
                                                                   service_sid: str, buy: Callable[..., Any]) -> None:
    number = buy()
    pool = client.messaging.v1.services(service_sid).phone_numbers
    added = pool.create(phone_number_sid=number.sid)
    assert (added.sid, added.phone_number, added.service_sid) == (number.sid, number.phone_number, service_sid)
    assert added.account_sid == client.account_sid
    assert added.country_code == "US"
    assert added.capabilities == ["MMS", "SMS", "Voice"]
    assert added.url == f"{loft.base_url}/v1/Services/{service_sid}/PhoneNumbers/{number.sid}"
    assert added.date_created is not None
    fetched = pool(number.sid).fetch()
    assert (fetched.sid, fetched.phone_number, fetched.capabilities) == (added.sid, added.phone_number,
                                                                         added.capabilities)
    assert [each.sid for each in pool.list()] == [number.sid]


def test_a_mobile_abroad_has_no_mms(client: Client, service_sid: str, buy: Callable[..., Any]) -> None:
    added = client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=buy("+336########").sid)
    assert (added.country_code, added.capabilities) == ("FR", ["SMS", "Voice"])


def test_a_number_added_again_is_answered_200_with_the_pool_s_record(loft: LoftServer, account: tuple[str, str],
                                                                     client: Client, service_sid: str,
                                                                     buy: Callable[..., Any]) -> None:
    """Twilio's warning 80104 ("PhoneNumber has already been added to Service"), not an error."""
    number = buy()
    first = client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number.sid)
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        again = clients.checked(http.post(f"/v1/Services/{service_sid}/PhoneNumbers",
                                          data={"PhoneNumberSid": number.sid}))
    assert again.status_code == 200
    assert again.json()["sid"] == number.sid and again.json()["date_created"] == first.date_created.strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert len(client.messaging.v1.services(service_sid).phone_numbers.list()) == 1


def test_a_number_taken_out_of_the_pool_stays_the_account_s(client: Client, service_sid: str,
                                                            buy: Callable[..., Any]) -> None:
    number = buy()
    pool = client.messaging.v1.services(service_sid).phone_numbers
    pool.create(phone_number_sid=number.sid)
    assert pool(number.sid).delete() is True
    assert pool.list() == []
    gone = refused(pool(number.sid).fetch)
    assert (gone.status, gone.code) == (404, 20404)
    assert client.incoming_phone_numbers(number.sid).fetch().phone_number == number.phone_number
    assert pool.create(phone_number_sid=number.sid).sid == number.sid  # and may join again


def test_deleting_a_service_frees_its_numbers_for_another(client: Client, buy: Callable[..., Any]) -> None:
    number = buy()
    first = client.messaging.v1.services.create(friendly_name="first")
    second = client.messaging.v1.services.create(friendly_name="second")
    client.messaging.v1.services(first.sid).phone_numbers.create(phone_number_sid=number.sid)
    taken = refused(lambda: client.messaging.v1.services(second.sid).phone_numbers.create(phone_number_sid=number.sid))
    assert taken.code == 21712
    client.messaging.v1.services(first.sid).delete()
    added = client.messaging.v1.services(second.sid).phone_numbers.create(phone_number_sid=number.sid)
    assert added.service_sid == second.sid


def test_a_released_number_leaves_the_pool(client: Client, service_sid: str, buy: Callable[..., Any]) -> None:
    number = buy()
    pool = client.messaging.v1.services(service_sid).phone_numbers
    pool.create(phone_number_sid=number.sid)
    client.incoming_phone_numbers(number.sid).delete()
    assert pool.list() == []
    assert refused(pool(number.sid).fetch).code == 20404


def test_a_number_moved_to_another_account_leaves_the_pool(main_client: Client, client: Client,
                                                           account: tuple[str, str], other_client: Client,
                                                           service_sid: str, buy: Callable[..., Any]) -> None:
    number = buy()
    pool = client.messaging.v1.services(service_sid).phone_numbers
    pool.create(phone_number_sid=number.sid)
    main_client.api.accounts(account[0]).incoming_phone_numbers(number.sid).update(
        account_sid=other_client.account_sid)
    assert pool.list() == []
    theirs = other_client.messaging.v1.services.create(friendly_name="theirs")
    assert other_client.messaging.v1.services(theirs.sid).phone_numbers.create(
        phone_number_sid=number.sid).service_sid == theirs.sid


def test_a_service_has_one_alpha_sender(loft: LoftServer, client: Client, service_sid: str) -> None:
    alphas = client.messaging.v1.services(service_sid).alpha_senders
    added = alphas.create(alpha_sender="Loft & Co")
    assert added.sid.startswith("AI") and len(added.sid) == 34
    assert (added.alpha_sender, added.capabilities, added.service_sid) == ("Loft & Co", ["SMS"], service_sid)
    assert added.url == f"{loft.base_url}/v1/Services/{service_sid}/AlphaSenders/{added.sid}"
    assert alphas(added.sid).fetch().alpha_sender == "Loft & Co"
    second = refused(lambda: alphas.create(alpha_sender="Another"))
    assert (second.status, second.code) == (400, 20001) and added.sid in second.msg
    assert alphas(added.sid).delete() is True
    assert [each.alpha_sender for each in [alphas.create(alpha_sender="Another")]] == ["Another"]
    assert [each.alpha_sender for each in alphas.list()] == ["Another"]


def test_destination_alpha_senders_are_for_a_country_or_any_and_listed_by_it(client: Client,
                                                                              service_sid: str) -> None:
    destination = client.messaging.v1.services(service_sid).destination_alpha_senders
    french = destination.create(alpha_sender="LoftFR", iso_country_code="fr")
    assert (french.iso_country_code, french.capabilities) == ("FR", ["SMS"])
    anywhere = destination.create(alpha_sender="Loft")
    assert anywhere.iso_country_code == ""
    german = destination.create(alpha_sender="LoftDE", iso_country_code="DE")
    for again in ({"alpha_sender": "LoftFR", "iso_country_code": "FR"}, {"alpha_sender": "Loft"}):
        twice = refused(partial(destination.create, **again))
        assert (twice.status, twice.code) == (400, 20001)
    also_french = destination.create(alpha_sender="Loft", iso_country_code="FR")
    assert [each.sid for each in destination.list()] == [french.sid, anywhere.sid, german.sid, also_french.sid]
    assert [each.sid for each in destination.list(iso_country_code="FR")] == [french.sid, also_french.sid]
    assert destination(german.sid).fetch().alpha_sender == "LoftDE"
    # Each collection holds its own kind: a destination alpha sender is not an AlphaSender.
    assert client.messaging.v1.services(service_sid).alpha_senders.list() == []
    assert refused(client.messaging.v1.services(service_sid).alpha_senders(german.sid).fetch).code == 20404


def test_short_codes_and_unknown_channel_senders_cannot_be_added(client: Client, service_sid: str) -> None:
    """Loft provisions no short codes, and a channel sender must be one of the account's RCS senders (made with
    ``/v2/Channels/Senders``, tests/senders/): empty lists, and 21421 for SIDs that are none."""
    service = client.messaging.v1.services(service_sid)
    assert service.short_codes.list() == [] and service.channel_senders.list() == []
    for call in (lambda: service.short_codes.create(short_code_sid="SC" + "a" * 32),
                 lambda: service.channel_senders.create(sid="XE" + "a" * 32)):
        answer = refused(call)
        assert (answer.status, answer.code) == (400, 21421)
    for fetch in (service.short_codes("SC" + "a" * 32).fetch, service.channel_senders("XE" + "a" * 32).fetch):
        assert refused(fetch).code == 20404


def _other_service(client: Client, number: Any) -> str:
    other = client.messaging.v1.services.create(friendly_name="the other").sid
    client.messaging.v1.services(other).phone_numbers.create(phone_number_sid=number.sid)
    return number.sid  # type: ignore[no-any-return]


def _released(client: Client, number: Any) -> str:
    client.incoming_phone_numbers(number.sid).delete()
    return number.sid  # type: ignore[no-any-return]


def _someone_else_s(client: Client, number: Any) -> str:
    return "PN" + "0" * 32  # a well-formed SID no account of this server holds


#: (how the PhoneNumberSid is come by, from the test's client and a US number it bought; the number's template;
#: Twilio's code).
BAD_NUMBERS = [
    pytest.param(_other_service, "+1415#######", 21712, id="21712-in-another-service"),
    pytest.param(lambda client, number: number.sid, "+44207183####", 21715, id="21715-a-landline-without-sms"),
    pytest.param(lambda client, number: "PN123", "+1415#######", 21421, id="21421-malformed"),
    pytest.param(lambda client, number: "MG" + "a" * 32, "+1415#######", 21421, id="21421-not-a-number-sid"),
    pytest.param(_someone_else_s, "+1415#######", 21421, id="21421-no-such-number"),
    pytest.param(_released, "+1415#######", 21421, id="21421-released"),
    pytest.param(lambda client, number: "", "+1415#######", 20001, id="20001-missing"),
]


@pytest.mark.parametrize(("sid_of", "template", "code"), BAD_NUMBERS)
def test_a_number_the_pool_cannot_take_is_refused_with_twilio_s_code(
        client: Client, service_sid: str, buy: Callable[..., Any], sid_of: Callable[[Client, Any], str],
        template: str, code: int) -> None:
    sid = sid_of(client, buy(template))
    pool = client.messaging.v1.services(service_sid).phone_numbers
    answer = refused(lambda: pool.create(phone_number_sid=sid))
    assert (answer.status, answer.code) == (400, code)
    assert pool.list() == []


BAD_ALPHAS = [
    pytest.param("AlphaSenders", {"AlphaSender": "TwelveLetter"}, id="too-long"),
    pytest.param("AlphaSenders", {"AlphaSender": "12345"}, id="only-digits"),
    pytest.param("AlphaSenders", {"AlphaSender": "Hi!"}, id="bad-character"),
    pytest.param("AlphaSenders", {}, id="missing"),
    pytest.param("DestinationAlphaSenders", {"AlphaSender": "Loft", "IsoCountryCode": "XX"}, id="unknown-country"),
    pytest.param("DestinationAlphaSenders", {"AlphaSender": "Loft", "IsoCountryCode": "FRA"}, id="alpha-3-country"),
    pytest.param("DestinationAlphaSenders", {"AlphaSender": "Loft Ltd.!"}, id="destination-bad-character"),
]


@pytest.mark.parametrize(("collection", "form"), BAD_ALPHAS)
def test_a_bad_alpha_sender_is_refused(loft: LoftServer, account: tuple[str, str], service_sid: str,
                                       collection: str, form: dict[str, str]) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        answer = clients.checked(http.post(f"/v1/Services/{service_sid}/{collection}", data=form))
        assert (answer.status_code, answer.json()["code"]) == (400, 20001)
        assert answer.json()["message"]
        assert clients.checked(http.get(f"/v1/Services/{service_sid}/{collection}")).json()["alpha_senders"] == []


def test_a_pool_holds_400_numbers_at_most(client: Client, service_sid: str) -> None:
    """Twilio's default limit (21714), counted over phone numbers and short codes; alpha senders do not count."""
    pool = client.messaging.v1.services(service_sid).phone_numbers
    for _ in range(400):
        number = client.incoming_phone_numbers.create(phone_number=unused_number())
        pool.create(phone_number_sid=number.sid)
    extra = client.incoming_phone_numbers.create(phone_number=unused_number())
    full = refused(lambda: pool.create(phone_number_sid=extra.sid))
    assert (full.status, full.code) == (400, 21714)
    assert len(pool.list(page_size=1000)) == 400
    client.messaging.v1.services(service_sid).alpha_senders.create(alpha_sender="Still room")
    pool(pool.list(limit=1)[0].sid).delete()
    assert pool.create(phone_number_sid=extra.sid).sid == extra.sid
