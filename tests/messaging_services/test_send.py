"""Sending through a Messaging Service (``MessagingServiceSid``, or ``From`` = the service's SID): the create answers
``accepted`` with no ``from``; the sender is chosen when the message leaves, in Twilio's order (sticky sender, short
code, alphanumeric ID where the country takes one, long code by area code, overlay, country), then the message goes
on as any other; the service's status callback (carrying ``MessagingServiceSid``) applies when the message names
none. See loft/delivery/selection.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from loft.delivery import selection
from tests.messaging_services.conftest import refused, unused_number
from tests.support.receiver import Receiver
from tests.support.waiting import eventually

FINAL = ("delivered", "undelivered", "failed")


def _settled(client: Client, sid: str) -> Any:
    """The message once it has reached a final status."""
    return eventually(lambda: (message := client.messages(sid).fetch()).status in FINAL and message)


def _pool(client: Client, service_sid: str, *numbers: Any) -> None:
    for number in numbers:
        client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number.sid)


def _sent_from(client: Client, service_sid: str, to: str) -> Any:
    created = client.messages.create(to=to, messaging_service_sid=service_sid, body="through the service")
    return _settled(client, created.sid)


def test_a_send_through_a_service_is_accepted_then_sent_from_its_pool(client: Client, service_sid: str,
                                                                     buy: Callable[..., Any]) -> None:
    number = buy()
    _pool(client, service_sid, number)

    created = client.messages.create(to="+15558672001", messaging_service_sid=service_sid, body="hello")

    assert created.status == "accepted"
    assert created.from_ is None
    assert created.messaging_service_sid == service_sid
    done = _settled(client, created.sid)
    assert (done.status, done.from_, done.messaging_service_sid) == ("delivered", number.phone_number, service_sid)


def test_from_may_name_the_service(client: Client, service_sid: str, buy: Callable[..., Any]) -> None:
    number = buy()
    _pool(client, service_sid, number)

    created = client.messages.create(to="+15558672002", from_=service_sid, body="hello")

    assert (created.status, created.from_, created.messaging_service_sid) == ("accepted", None, service_sid)
    assert _settled(client, created.sid).from_ == number.phone_number


@pytest.mark.parametrize("whose", [pytest.param("nobody", id="unknown-service"),
                                   pytest.param("parent", id="the-parent-s-service"),
                                   pytest.param("sibling", id="a-sibling-s-service")])
def test_a_service_not_of_the_account_is_refused_with_21705(client: Client, main_client: Client,
                                                            other_client: Client, whose: str) -> None:
    sid = "MG" + "0" * 32
    if whose == "parent":
        sid = main_client.messaging.v1.services.create(friendly_name="the parent's").sid
    elif whose == "sibling":
        sid = other_client.messaging.v1.services.create(friendly_name="a sibling's").sid
    answer = refused(lambda: client.messages.create(to="+15558672003", messaging_service_sid=sid, body="no"))
    assert (answer.status, answer.code) == (400, 21705)
    assert client.messages.list() == []


def test_a_malformed_service_sid_is_refused_with_21705(client: Client) -> None:
    answer = refused(lambda: client.messages.create(to="+15558672004", messaging_service_sid="MG123", body="no"))
    assert (answer.status, answer.code) == (400, 21705)


def test_an_empty_pool_fails_the_message_with_21704(client: Client, service_sid: str) -> None:
    created = client.messages.create(to="+15558672005", messaging_service_sid=service_sid, body="nobody sends")
    done = _settled(client, created.sid)
    assert (done.status, done.error_code, done.from_) == ("failed", 21704, None)


def test_an_alphanumeric_id_is_not_used_for_a_plus_one_number(client: Client, service_sid: str) -> None:
    client.messaging.v1.services(service_sid).alpha_senders.create(alpha_sender="Loft")
    done = _sent_from(client, service_sid, "+15558672006")
    assert (done.status, done.error_code) == ("failed", selection.NO_SENDER_FOR_RECIPIENT)


def test_an_alphanumeric_id_goes_before_a_long_code_where_the_country_takes_it(
        client: Client, service_sid: str, buy: Callable[..., Any]) -> None:
    number = buy()
    _pool(client, service_sid, number)
    service = client.messaging.v1.services(service_sid)
    service.alpha_senders.create(alpha_sender="Loft")

    assert _sent_from(client, service_sid, "+447400900123").from_ == "Loft"
    assert _sent_from(client, service_sid, "+15558672007").from_ == number.phone_number

    service.destination_alpha_senders.create(alpha_sender="LoftUK", iso_country_code="GB")
    service.destination_alpha_senders.create(alpha_sender="LoftAny")
    assert _sent_from(client, service_sid, "+447400900124").from_ == "LoftUK"
    assert _sent_from(client, service_sid, "+33612345678").from_ == "LoftAny"


def test_a_long_code_of_the_recipient_s_country_goes_first(client: Client, service_sid: str,
                                                           buy: Callable[..., Any]) -> None:
    american, british = buy(), buy("+447400######")
    _pool(client, service_sid, american, british)
    assert _sent_from(client, service_sid, "+447400900125").from_ == british.phone_number
    assert _sent_from(client, service_sid, "+33612345679").from_ == american.phone_number  # then a US number


def test_geomatch_takes_the_area_code_then_an_overlay_then_any_north_american_number(
        client: Client, service_sid: str, buy: Callable[..., Any]) -> None:
    british, elsewhere = buy("+447400######"), buy("+1720#######")
    _pool(client, service_sid, british, elsewhere)
    assert _sent_from(client, service_sid, "+14155550101").from_ == elsewhere.phone_number  # any US/CA number

    overlay = buy("+1628#######")
    _pool(client, service_sid, overlay)
    assert _sent_from(client, service_sid, "+14155550102").from_ == overlay.phone_number

    same = buy("+1415#######")
    _pool(client, service_sid, same)
    assert _sent_from(client, service_sid, "+14155550103").from_ == same.phone_number


def test_without_geomatch_the_pool_s_order_decides(client: Client, service_sid: str,
                                                   buy: Callable[..., Any]) -> None:
    client.messaging.v1.services(service_sid).update(area_code_geomatch=False)
    first, same = buy("+1720#######"), buy("+1415#######")
    _pool(client, service_sid, first, same)
    assert _sent_from(client, service_sid, "+14155550104").from_ == first.phone_number


def test_a_recipient_keeps_its_sender_while_sticky_sender_is_on(client: Client, service_sid: str,
                                                                buy: Callable[..., Any]) -> None:
    elsewhere = buy("+1720#######")
    _pool(client, service_sid, elsewhere)
    recipient = unused_number("+1415555####")
    assert _sent_from(client, service_sid, recipient).from_ == elsewhere.phone_number

    same = buy("+1415#######")
    _pool(client, service_sid, same)  # geomatch would now choose it
    assert _sent_from(client, service_sid, recipient).from_ == elsewhere.phone_number
    assert _sent_from(client, service_sid, unused_number("+1415555####")).from_ == same.phone_number

    client.messaging.v1.services(service_sid).phone_numbers(elsewhere.sid).delete()  # left the pool: chosen again
    assert _sent_from(client, service_sid, recipient).from_ == same.phone_number


def test_without_sticky_sender_each_send_is_chosen_afresh(client: Client, service_sid: str,
                                                          buy: Callable[..., Any]) -> None:
    client.messaging.v1.services(service_sid).update(sticky_sender=False)
    elsewhere = buy("+1720#######")
    _pool(client, service_sid, elsewhere)
    recipient = unused_number("+1415555####")
    assert _sent_from(client, service_sid, recipient).from_ == elsewhere.phone_number
    same = buy("+1415#######")
    _pool(client, service_sid, same)
    assert _sent_from(client, service_sid, recipient).from_ == same.phone_number


def test_the_service_s_status_callback_carries_its_sid(client: Client, account: tuple[str, str], service_sid: str,
                                                       buy: Callable[..., Any], receiver: Receiver) -> None:
    number = buy()
    _pool(client, service_sid, number)
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/service"))

    created = client.messages.create(to="+15558672008", messaging_service_sid=service_sid, body="called back")

    got = receiver.wait_for(lambda requests: len([r for r in requests if r.path == "/service"]) >= 3)
    statuses = [(r.param("MessageStatus"), r.param("MessagingServiceSid"), r.param("From"), r.param("MessageSid"))
                for r in got if r.path == "/service"]
    assert statuses == [(status, service_sid, number.phone_number, created.sid)
                        for status in ("queued", "sent", "delivered")]
    for request in got:
        assert RequestValidator(account[1]).validate(receiver.url("/service"), dict(request.form),
                                                     request.headers["x-twilio-signature"])


def test_the_message_s_own_status_callback_wins(client: Client, service_sid: str, buy: Callable[..., Any],
                                                receiver: Receiver) -> None:
    _pool(client, service_sid, buy())
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/service"))
    client.messages.create(to="+15558672009", messaging_service_sid=service_sid, body="mine",
                           status_callback=receiver.url("/mine"))
    receiver.wait_for(lambda requests: len([r for r in requests if r.path == "/mine"]) >= 3)
    assert receiver.to("/service") == []


def test_a_failure_to_choose_is_announced(client: Client, service_sid: str, receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/service"))
    created = client.messages.create(to="+15558672010", messaging_service_sid=service_sid, body="nobody")
    got = receiver.wait_for(lambda requests: bool(requests))
    assert [(r.param("MessageStatus"), r.param("ErrorCode"), r.param("MessagingServiceSid")) for r in got] == [
        ("failed", "21704", service_sid)]
    assert got[0].param("MessageSid") == created.sid


def test_the_service_s_smart_encoding_applies(client: Client, service_sid: str, buy: Callable[..., Any]) -> None:
    _pool(client, service_sid, buy())
    smart = client.messages.create(to="+15558672011", messaging_service_sid=service_sid, body="“quoted” — dash")
    assert smart.body == '"quoted" - dash'
    client.messaging.v1.services(service_sid).update(smart_encoding=False)
    plain = client.messages.create(to="+15558672011", messaging_service_sid=service_sid, body="“quoted”")
    assert plain.body == "“quoted”"


def test_an_application_s_status_callback_wins_over_the_service_s(client: Client, service_sid: str,
                                                                  buy: Callable[..., Any],
                                                                  receiver: Receiver) -> None:
    _pool(client, service_sid, buy())
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/service"))
    application = client.applications.create(friendly_name="app",
                                             message_status_callback=receiver.url("/application"))
    client.messages.create(to="+15558672012", messaging_service_sid=service_sid, body="app's",
                           application_sid=application.sid)
    receiver.wait_for(lambda requests: len([r for r in requests if r.path == "/application"]) >= 3)
    assert receiver.to("/service") == []


def test_a_from_number_with_a_service_is_sent_from_it_with_the_service_s_settings(
        client: Client, service_sid: str, buy: Callable[..., Any], receiver: Receiver) -> None:
    pooled, own = buy(), buy()
    _pool(client, service_sid, pooled)
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/service"))

    created = client.messages.create(to="+15558672013", from_=own.phone_number, messaging_service_sid=service_sid,
                                     body="mine")

    assert (created.status, created.from_, created.messaging_service_sid) == (
        "queued", own.phone_number, service_sid)
    got = receiver.wait_for(lambda requests: len(requests) >= 2)
    assert [(r.param("MessageStatus"), r.param("MessagingServiceSid")) for r in got] == [
        ("sent", service_sid), ("delivered", service_sid)]
    answer = refused(lambda: client.messages.create(to="+15558672013", from_="+14155550199",
                                                    messaging_service_sid=service_sid, body="not mine"))
    assert (answer.status, answer.code) == (400, 21606)
