"""IncomingPhoneNumbers through the official SDK: buying, configuring, listing and releasing an account's numbers."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.numbers import is_valid, unused
from tests.support.server import LoftServer


def us_number() -> str:
    return unused("+1415555####")


def uk_landline() -> str:
    return unused("+44207183####")


def french_mobile() -> str:
    return unused("+336########")


def _error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        call()
    return info.value


@pytest.fixture
def other_client(loft: LoftServer, main_client: Client) -> Client:
    """A second, unrelated subaccount of the same parent."""
    created = main_client.api.accounts.create(friendly_name="other")
    return clients.sdk(loft.base_url, created.sid, created.auth_token)


def test_create_with_phone_number_buys_that_number(client: Client) -> None:
    wanted = us_number()
    number = client.incoming_phone_numbers.create(phone_number=wanted)
    assert number.sid.startswith("PN") and len(number.sid) == 34
    assert number.phone_number == wanted
    assert number.account_sid == client.account_sid
    assert number.status == "in-use"
    assert client.incoming_phone_numbers(number.sid).fetch().phone_number == wanted


def test_create_with_area_code_gives_a_number_in_that_area(client: Client) -> None:
    number = client.incoming_phone_numbers.create(area_code="415")
    assert number.phone_number.startswith("+1415") and len(number.phone_number) == 12
    assert is_valid(number.phone_number)


def test_create_friendly_name_defaults_to_the_national_format(client: Client) -> None:
    wanted = us_number()
    number = client.incoming_phone_numbers.create(phone_number=wanted)
    assert number.friendly_name == f"(415) {wanted[5:8]}-{wanted[8:]}"


def test_create_keeps_a_given_friendly_name(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number=us_number(), friendly_name="Front desk")
    assert number.friendly_name == "Front desk"


def test_us_number_can_do_voice_sms_and_mms(client: Client) -> None:
    capabilities = client.incoming_phone_numbers.create(phone_number=us_number()).capabilities
    assert capabilities["voice"] is True and capabilities["sms"] is True and capabilities["mms"] is True


def test_uk_landline_cannot_do_sms(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number=uk_landline())
    assert number.capabilities["voice"] is True
    assert number.capabilities["sms"] is False and number.capabilities["mms"] is False


def test_french_mobile_does_sms_but_not_mms(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number=french_mobile())
    assert number.capabilities["sms"] is True and number.capabilities["mms"] is False
    assert number.type == "mobile"


UPDATES = [
    pytest.param("sms_url", "https://example.com/sms", "https://example.com/sms", id="SmsUrl"),
    pytest.param("sms_method", "GET", "GET", id="SmsMethod"),
    pytest.param("sms_fallback_url", "https://example.com/fb", "https://example.com/fb", id="SmsFallbackUrl"),
    pytest.param("sms_fallback_method", "GET", "GET", id="SmsFallbackMethod"),
    pytest.param("status_callback", "https://example.com/status", "https://example.com/status", id="StatusCallback"),
    pytest.param("status_callback_method", "GET", "GET", id="StatusCallbackMethod"),
    pytest.param("voice_url", "https://example.com/voice", "https://example.com/voice", id="VoiceUrl"),
    pytest.param("voice_method", "GET", "GET", id="VoiceMethod"),
    pytest.param("voice_fallback_url", "http://example.com/vf", "http://example.com/vf", id="VoiceFallbackUrl"),
    pytest.param("voice_fallback_method", "GET", "GET", id="VoiceFallbackMethod"),
    pytest.param("voice_caller_id_lookup", True, True, id="VoiceCallerIdLookup"),
    pytest.param("voice_receive_mode", "fax", "fax", id="VoiceReceiveMode"),
    pytest.param("emergency_status", "Active", "Active", id="EmergencyStatus"),
    pytest.param("trunk_sid", "TK" + "b2" * 16, "TK" + "b2" * 16, id="TrunkSid"),
    pytest.param("identity_sid", "RI" + "c3" * 16, "RI" + "c3" * 16, id="IdentitySid"),
    pytest.param("address_sid", "AD" + "d4" * 16, "AD" + "d4" * 16, id="AddressSid"),
    pytest.param("bundle_sid", "BU" + "e5" * 16, "BU" + "e5" * 16, id="BundleSid"),
    pytest.param("friendly_name", "Support line", "Support line", id="FriendlyName"),
]


@pytest.mark.parametrize(("field", "value", "expected"), UPDATES)
def test_update_round_trips_each_setting(client: Client, sender: str, field: str, value: object,
                                         expected: object) -> None:
    sid = client.incoming_phone_numbers.list(phone_number=sender)[0].sid
    before = getattr(client.incoming_phone_numbers(sid).fetch(), field)
    assert before != expected
    updated = client.incoming_phone_numbers(sid).update(**{field: value})
    assert getattr(updated, field) == expected
    assert getattr(client.incoming_phone_numbers(sid).fetch(), field) == expected


def test_update_sms_application_sid_round_trips(client: Client, sender: str) -> None:
    application = client.applications.create(friendly_name="sms app", sms_url="https://example.com/app")
    sid = client.incoming_phone_numbers.list(phone_number=sender)[0].sid
    assert client.incoming_phone_numbers(sid).fetch().sms_application_sid is None
    updated = client.incoming_phone_numbers(sid).update(sms_application_sid=application.sid)
    assert updated.sms_application_sid == application.sid
    assert client.incoming_phone_numbers(sid).fetch().sms_application_sid == application.sid
    client.incoming_phone_numbers(sid).update(sms_application_sid="")
    assert client.incoming_phone_numbers(sid).fetch().sms_application_sid is None


def test_update_refuses_an_application_of_another_account(client: Client, other_client: Client, sender: str) -> None:
    theirs = other_client.applications.create(friendly_name="not yours")
    sid = client.incoming_phone_numbers.list(phone_number=sender)[0].sid
    for application_sid in (theirs.sid, "AP" + "a1" * 16):
        error = _error(lambda: client.incoming_phone_numbers(sid).update(sms_application_sid=application_sid))
        assert error.status == 400
    assert client.incoming_phone_numbers(sid).fetch().sms_application_sid is None


def test_update_leaves_other_settings_alone(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number=us_number(), sms_url="https://example.com/a")
    updated = client.incoming_phone_numbers(number.sid).update(voice_url="https://example.com/v")
    assert updated.sms_url == "https://example.com/a" and updated.voice_url == "https://example.com/v"


def test_update_with_empty_sms_url_clears_it(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number=us_number(), sms_url="https://example.com/sms")
    assert number.sms_url == "https://example.com/sms"
    client.incoming_phone_numbers(number.sid).update(sms_url="")
    assert client.incoming_phone_numbers(number.sid).fetch().sms_url in (None, "")


def test_list_filters_by_partial_phone_number(client: Client) -> None:
    us = us_number()
    while "336" in us:  # the random digits must not match the French prefix searched below ("+336" → 336)
        us = us_number()
    first = client.incoming_phone_numbers.create(phone_number=us)
    client.incoming_phone_numbers.create(phone_number=french_mobile())
    found = client.incoming_phone_numbers.list(phone_number=first.phone_number[-7:])
    assert [n.sid for n in found] == [first.sid]
    assert len(client.incoming_phone_numbers.list(phone_number="+336")) == 1
    assert len(client.incoming_phone_numbers.list()) == 2


def test_list_filters_by_friendly_name(client: Client) -> None:
    wanted = client.incoming_phone_numbers.create(phone_number=us_number(), friendly_name="Sales")
    client.incoming_phone_numbers.create(phone_number=us_number(), friendly_name="Support")
    assert [n.sid for n in client.incoming_phone_numbers.list(friendly_name="Sales")] == [wanted.sid]
    assert client.incoming_phone_numbers.list(friendly_name="Nobody") == []


def test_list_pages_one_number_at_a_time(client: Client) -> None:
    bought = [client.incoming_phone_numbers.create(phone_number=us_number()).sid for _ in range(3)]
    page = client.incoming_phone_numbers.page(page_size=1)
    seen = []
    while page is not None:
        records = list(page)
        assert len(records) == 1
        seen.append(records[0].sid)
        page = page.next_page()
    assert seen == bought
    assert [n.sid for n in client.incoming_phone_numbers.list(page_size=1)] == bought


def test_list_of_a_new_account_is_empty(client: Client) -> None:
    assert client.incoming_phone_numbers.list() == []


def test_delete_releases_the_number(client: Client, other_client: Client) -> None:
    wanted = us_number()
    number = client.incoming_phone_numbers.create(phone_number=wanted)
    assert client.incoming_phone_numbers(number.sid).delete() is True
    error = _error(client.incoming_phone_numbers(number.sid).fetch)
    assert error.status == 404 and error.code == 20404
    assert client.incoming_phone_numbers.list() == []
    again = client.incoming_phone_numbers.create(phone_number=wanted)
    assert again.sid != number.sid
    client.incoming_phone_numbers(again.sid).delete()
    assert other_client.incoming_phone_numbers.create(phone_number=wanted).account_sid == other_client.account_sid


def test_delete_twice_is_404(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number=us_number())
    client.incoming_phone_numbers(number.sid).delete()
    error = _error(client.incoming_phone_numbers(number.sid).delete)
    assert error.status == 404


def test_number_owned_by_one_account_cannot_be_bought_by_another(client: Client, other_client: Client) -> None:
    wanted = us_number()
    client.incoming_phone_numbers.create(phone_number=wanted)
    error = _error(lambda: other_client.incoming_phone_numbers.create(phone_number=wanted))
    assert error.status == 400 and error.code == 21422
    error = _error(lambda: client.incoming_phone_numbers.create(phone_number=wanted))
    assert error.code == 21422


def test_area_code_never_hands_out_an_owned_number(client: Client, other_client: Client) -> None:
    mine = {client.incoming_phone_numbers.create(area_code="628").phone_number for _ in range(3)}
    theirs = {other_client.incoming_phone_numbers.create(area_code="628").phone_number for _ in range(3)}
    assert len(mine) == 3 and len(theirs) == 3 and not mine & theirs


@pytest.mark.parametrize(
    ("params", "code"),
    [
        pytest.param({"phone_number": "+1"}, 21421, id="invalid-number"),
        pytest.param({"phone_number": "not a number"}, 21421, id="letters"),
        pytest.param({"phone_number": "+15005550000"}, 21422, id="magic-unavailable"),
        pytest.param({"phone_number": "+15005550001"}, 21421, id="magic-invalid"),
        pytest.param({"area_code": "533"}, 21452, id="area-code-without-numbers"),
        pytest.param({"area_code": "12"}, 21451, id="area-code-too-short"),
        pytest.param({"area_code": "abc"}, 21451, id="area-code-letters"),
        pytest.param({"friendly_name": "no number asked for"}, None, id="neither-number-nor-area-code"),
        pytest.param({"area_code": "415", "sms_method": "PUT"}, None, id="bad-sms-method"),
        pytest.param({"area_code": "415", "sms_url": "notaurl"}, None, id="bad-sms-url"),
        pytest.param({"area_code": "415", "voice_receive_mode": "telex"}, None, id="bad-voice-receive-mode"),
        pytest.param({"area_code": "415", "sms_application_sid": "AP123"}, None, id="bad-application-sid"),
    ],
)
def test_create_refuses(client: Client, params: dict[str, str], code: int | None) -> None:
    error = _error(lambda: client.incoming_phone_numbers.create(**params))
    assert error.status == 400
    if code is not None:
        assert error.code == code
    assert client.incoming_phone_numbers.list() == []


def test_magic_available_number_can_be_bought(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15005550006", voice_url="https://example.com/v")
    try:
        assert number.phone_number == "+15005550006"
        assert number.voice_url == "https://example.com/v"
    finally:
        client.incoming_phone_numbers(number.sid).delete()


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"sms_method": "PUT"}, id="bad-sms-method"),
        pytest.param({"sms_url": "notaurl"}, id="bad-sms-url"),
        pytest.param({"voice_fallback_url": "ftp://example.com/x"}, id="bad-voice-fallback-url"),
        pytest.param({"emergency_status": "Sometimes"}, id="bad-emergency-status"),
        pytest.param({"trunk_sid": "AP" + "0" * 32}, id="sid-of-the-wrong-kind"),
        pytest.param({"friendly_name": "x" * 65}, id="friendly-name-too-long"),
    ],
)
def test_update_refuses_and_changes_nothing(client: Client, sender: str, params: dict[str, str]) -> None:
    sid = client.incoming_phone_numbers.list(phone_number=sender)[0].sid
    before = client.incoming_phone_numbers(sid).fetch()
    error = _error(lambda: client.incoming_phone_numbers(sid).update(**params))
    assert error.status == 400
    after = client.incoming_phone_numbers(sid).fetch()
    assert (after.sms_method, after.sms_url, after.friendly_name, after.trunk_sid, after.emergency_status) == (
        before.sms_method, before.sms_url, before.friendly_name, before.trunk_sid, before.emergency_status)


def test_another_accounts_number_is_not_found(client: Client, other_client: Client) -> None:
    theirs = other_client.incoming_phone_numbers.create(phone_number=us_number())
    for call in (
        client.incoming_phone_numbers(theirs.sid).fetch,
        lambda: client.incoming_phone_numbers(theirs.sid).update(sms_url="https://example.com/steal"),
        client.incoming_phone_numbers(theirs.sid).delete,
    ):
        error = _error(call)
        assert error.status == 404 and error.code == 20404
    assert other_client.incoming_phone_numbers(theirs.sid).fetch().sms_url is None


def test_sending_from_a_number_without_sms_is_refused(client: Client) -> None:
    landline = client.incoming_phone_numbers.create(phone_number=uk_landline()).phone_number
    error = _error(lambda: client.messages.create(to="+15558675310", from_=landline, body="hi"))
    assert error.status == 400 and error.code == 21606
