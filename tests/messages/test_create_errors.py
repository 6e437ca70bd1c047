"""Every way Twilio refuses a Messages create, through the official SDK: status, code, and nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

#: Stands for the test account's own SMS-capable number (the ``sender`` fixture).
OWNED = object()
TO = "+15558675310"
NOT_YET = "not supported by Loft yet"
SEND_AT = datetime.now(UTC) + timedelta(hours=2)


def refused(params: dict[str, Any], code: int, *, names: str | None = None, not_yet: bool = False,
            id: str) -> Any:  # noqa: A002 - pytest.param's own keyword
    """A case: these create arguments get a 400 with ``code``; ``names`` must appear in the message."""
    return pytest.param(params, code, names, not_yet, id=id)


CASES = [
    # Required parameters.
    refused({"to": None, "from_": OWNED, "body": "hi"}, 21604, id="missing-to-21604"),
    refused({"to": TO, "body": "hi"}, 21603, id="missing-from-21603"),
    refused({"to": TO, "from_": OWNED}, 21602, id="no-body-no-media-21602"),
    refused({"to": TO, "from_": OWNED, "body": ""}, 21602, id="empty-body-21602"),
    refused({"to": TO, "from_": OWNED, "body": "x" * 1601}, 21617, id="body-1601-chars-21617"),
    # To and From.
    refused({"to": "abc", "from_": OWNED, "body": "hi"}, 21211, id="to-letters-21211"),
    refused({"to": "+1", "from_": OWNED, "body": "hi"}, 21211, id="to-plus-one-21211"),
    refused({"to": "12", "from_": OWNED, "body": "hi"}, 21211, id="to-two-digits-21211"),
    refused({"to": TO, "from_": "+1", "body": "hi"}, 21212, id="from-plus-one-21212"),
    refused({"to": TO, "from_": "not a number!!", "body": "hi"}, 21212, id="from-garbage-21212"),
    refused({"to": TO, "from_": "+14155550100", "body": "hi"}, 21606, id="from-not-owned-21606"),
    refused({"to": TO, "from_": "12345", "body": "hi"}, 21606, id="from-foreign-short-code-21606"),
    refused({"to": OWNED, "from_": OWNED, "body": "hi"}, 21266, id="to-equals-from-21266"),
    refused({"to": TO, "from_": "Loft", "body": "hi"}, 21612, id="alphanumeric-to-nanp-21612"),
    refused({"to": "whatsapp:+15558675310", "from_": OWNED, "body": "hi"}, 20001, names="To", not_yet=True,
            id="channel-to-not-yet"),
    # Twilio's magic test numbers.
    refused({"to": "+15005550001", "from_": OWNED, "body": "hi"}, 21211, id="magic-to-invalid-21211"),
    refused({"to": "+15005550002", "from_": OWNED, "body": "hi"}, 21612, id="magic-to-unroutable-21612"),
    refused({"to": "+15005550003", "from_": OWNED, "body": "hi"}, 21408, id="magic-to-no-permission-21408"),
    refused({"to": "+15005550004", "from_": OWNED, "body": "hi"}, 21610, id="magic-to-blacklisted-21610"),
    refused({"to": "+15005550009", "from_": OWNED, "body": "hi"}, 21614, id="magic-to-not-mobile-21614"),
    refused({"to": TO, "from_": "+15005550001", "body": "hi"}, 21212, id="magic-from-invalid-21212"),
    refused({"to": TO, "from_": "+15005550007", "body": "hi"}, 21606, id="magic-from-not-owned-21606"),
    refused({"to": TO, "from_": "+15005550008", "body": "hi"}, 21611, id="magic-from-queue-full-21611"),
    # Callbacks and media.
    refused({"to": TO, "from_": OWNED, "body": "hi", "status_callback": "notaurl"}, 21609,
            id="status-callback-not-a-url-21609"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "status_callback": "ftp://x"}, 21609,
            id="status-callback-ftp-21609"),
    refused({"to": TO, "from_": OWNED, "media_url": ["ftp://example.com/a.png"]}, 21620, id="media-url-ftp-21620"),
    refused({"to": TO, "from_": OWNED, "media_url": [f"https://example.com/{n}.png" for n in range(11)]}, 21623,
            id="eleven-media-urls-21623"),
    # Validity, prices, attempts, applications.
    refused({"to": TO, "from_": OWNED, "body": "hi", "validity_period": 0}, 20001, names="ValidityPeriod",
            id="validity-period-0"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "validity_period": 36001}, 20001, names="ValidityPeriod",
            id="validity-period-36001"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "validity_period": "abc"}, 20001, names="ValidityPeriod",
            id="validity-period-abc"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "max_price": "cheap"}, 20001, names="MaxPrice",
            id="max-price-not-a-number"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "attempt": 0}, 20001, names="Attempt", id="attempt-0"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "application_sid": "AP123"}, 20001, names="ApplicationSid",
            id="application-sid-malformed"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "application_sid": "AP" + "a" * 32}, 20001,
            names="ApplicationSid", id="application-sid-of-no-application"),
    # Messaging Services, content templates, scheduling.
    refused({"to": TO, "from_": OWNED, "body": "hi", "messaging_service_sid": "MG123"}, 21705,
            id="messaging-service-sid-malformed-21705"),
    refused({"to": TO, "messaging_service_sid": "MS" + "0" * 32, "body": "hi"}, 21705,
            id="messaging-service-sid-wrong-prefix-21705"),
    refused({"to": TO, "messaging_service_sid": "MG" + "0" * 32, "body": "hi"}, 21705,
            id="messaging-service-of-no-service-21705"),
    refused({"to": TO, "from_": OWNED, "content_sid": "HX" + "0" * 32}, 21655, id="content-sid-of-no-template-21655"),
    refused({"to": TO, "from_": OWNED, "content_sid": "HX0"}, 21655, id="content-sid-malformed-21655"),
    refused({"to": TO, "from_": OWNED, "content_sid": "HX" + "0" * 32, "content_variables": "{"}, 21656,
            id="content-variables-not-json-21656"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "content_variables": '{"1": "x"}'}, 21654,
            id="content-variables-without-content-sid-21654"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "schedule_type": "fixed", "send_at": SEND_AT}, 35118,
            id="schedule-without-messaging-service-35118"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "fallback_from": "+15558675311"}, 21664,
            id="fallback-from-with-from-21664"),
    refused({"to": TO, "body": "hi", "fallback_from": "+15558675311"}, 21666, id="fallback-from-without-service-21666"),
    refused({"to": "rcs:+15558675310", "from_": OWNED, "body": "hi"}, 21612, id="rcs-to-from-a-number-21612"),
    refused({"to": TO, "from_": "rcs:no_such_agent", "body": "hi"}, 63007, id="rcs-from-of-no-sender-63007"),
    refused({"to": TO, "from_": OWNED, "body": "see https://example.com", "shorten_urls": True}, 20001,
            names="ShortenUrls", not_yet=True, id="shorten-urls-not-yet"),
    # Retention, traffic type, enums and booleans.
    refused({"to": TO, "from_": OWNED, "body": "hi", "address_retention": "forget"}, 20001,
            names="AddressRetention", id="address-retention-unknown-value"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "traffic_type": "free"}, 20001, names="TrafficType",
            not_yet=True, id="traffic-type-free-not-yet"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "risk_check": "maybe"}, 20001, names="RiskCheck",
            id="risk-check-unknown-value"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "content_retention": "forever"}, 20001,
            names="ContentRetention", id="content-retention-unknown-value"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "provide_feedback": "maybe"}, 20001, names="ProvideFeedback",
            id="provide-feedback-not-a-boolean"),
    refused({"to": TO, "from_": OWNED, "body": "hi", "smart_encoded": "yes please"}, 20001, names="SmartEncoded",
            id="smart-encoded-not-a-boolean"),
]


@pytest.mark.parametrize(("params", "code", "names", "not_yet"), CASES)
def test_create_refuses_with_twilios_error_and_stores_nothing(
    client: Client, sender: str, params: dict[str, Any], code: int, names: str | None, not_yet: bool
) -> None:
    kwargs = {key: sender if value is OWNED else value for key, value in params.items()}
    with pytest.raises(TwilioRestException) as e:
        client.messages.create(**kwargs)
    assert (e.value.status, e.value.code) == (400, code), e.value.msg
    if names is not None:
        assert names in e.value.msg
    if not_yet:
        assert NOT_YET in e.value.msg
    assert client.messages.list() == []
