"""Inbound messages to a number in a Messaging Service's pool: a handset texts it, and the service routes it.

The service's ``InboundRequestUrl`` (then ``FallbackUrl``) wins over the number's own webhook, unless the service's
``UseInboundWebhookOnNumber`` gives it back to the number (or its Application) where the number has one; a
service with no ``InboundRequestUrl`` routes the message nowhere. The request is signed like a number's webhook
and carries ``MessagingServiceSid``, which the stored message has too; TwiML replies leave from the pool number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from tests.support.receiver import Answer, Received, Receiver
from tests.support.sim import Sim
from tests.support.waiting import eventually


def _reply(text: str) -> Answer:
    response = MessagingResponse()
    response.message(text)
    return Answer(body=str(response), content_type="text/xml")


def _failing_over(receiver: Receiver, primary: str, fallback: str, text: str) -> None:
    """``primary`` answers 500; ``fallback`` replies ``text``."""
    receiver.answer(primary, Answer(status=500, body="boom"))
    receiver.answer(fallback, _reply(text))


def _pooled(client: Client, service_sid: str, buy: Callable[..., Any], **number_settings: Any) -> Any:
    """A new number of the account, with ``number_settings`` (``sms_url`` …), in the service's pool."""
    number = buy()
    if number_settings:
        number = client.incoming_phone_numbers(number.sid).update(**number_settings)
    client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number.sid)
    return number


def _signed(call: Received, url: str, auth_token: str) -> bool:
    return bool(RequestValidator(auth_token).validate(url, call.params, call.headers["x-twilio-signature"]))


def _calls_to(receiver: Receiver, path: str, count: int = 1) -> list[Received]:
    receiver.wait_for(lambda got: len([r for r in got if r.path == path]) >= count)
    return receiver.to(path)


def test_the_service_s_url_wins_over_the_number_s_signed_with_the_service_sid_and_its_reply_leaves_from_the_pool(
        client: Client, account: tuple[str, str], service_sid: str, buy: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"))
    number = _pooled(client, service_sid, buy, sms_url=receiver.url("/number"))
    receiver.answer("/service", _reply("hello from the service"))

    inbound = sim.text("+15558677001", number.phone_number, "hi service")
    call = _calls_to(receiver, "/service")[0]
    assert call.method == "POST" and _signed(call, receiver.url("/service"), account[1])
    params = call.params
    assert params["MessagingServiceSid"] == service_sid
    assert (params["MessageSid"], params["From"], params["To"], params["Body"]) == (
        inbound["sid"], "+15558677001", number.phone_number, "hi service")
    assert params["AccountSid"] == account[0] and params["SmsStatus"] == "received"
    fetched = client.messages(inbound["sid"]).fetch()
    assert (fetched.direction, fetched.status, fetched.messaging_service_sid) == ("inbound", "received", service_sid)

    inbox = eventually(lambda: sim.inbox("+15558677001"))
    assert [(m["body"], m["from"]) for m in inbox] == [("hello from the service", number.phone_number)]
    replies = client.messages.list(to="+15558677001")
    assert [(m.direction, m.from_) for m in replies] == [("outbound-reply", number.phone_number)]
    assert receiver.to("/number") == []


def test_the_service_s_method_get_signs_the_url_with_its_query(
        client: Client, account: tuple[str, str], service_sid: str, buy: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service?tenant=9"),
                                                     inbound_method="GET")
    number = _pooled(client, service_sid, buy)
    sim.text("+15558677002", number.phone_number, "via get")
    call = _calls_to(receiver, "/service")[0]
    assert call.method == "GET" and call.param("MessagingServiceSid") == service_sid
    assert call.param("tenant") == "9" and call.param("Body") == "via get"
    assert RequestValidator(account[1]).validate(receiver.base_url + call.target, {},
                                                 call.headers["x-twilio-signature"])


def test_a_failing_service_url_falls_back_to_the_service_s_fallback_url(
        client: Client, account: tuple[str, str], service_sid: str, buy: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    _failing_over(receiver, "/primary", "/fallback", "from the service's fallback")
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/primary"),
                                                     fallback_url=receiver.url("/fallback"), fallback_method="POST")
    number = _pooled(client, service_sid, buy, sms_fallback_url=receiver.url("/number-fallback"))
    sim.text("+15558677003", number.phone_number, "anyone?")
    fallback = _calls_to(receiver, "/fallback")[0]
    assert _signed(fallback, receiver.url("/fallback"), account[1])
    assert fallback.param("ErrorCode") == "11200" and fallback.param("ErrorUrl") == receiver.url("/primary")
    assert fallback.param("MessagingServiceSid") == service_sid
    inbox = eventually(lambda: sim.inbox("+15558677003"))
    assert [m["body"] for m in inbox] == ["from the service's fallback"]
    assert receiver.to("/number-fallback") == []


def test_with_use_inbound_webhook_on_number_the_number_s_own_urls_win(
        client: Client, account: tuple[str, str], service_sid: str, buy: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    _failing_over(receiver, "/number", "/number-fallback", "from the number's fallback")
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"),
                                                     fallback_url=receiver.url("/service-fallback"),
                                                     use_inbound_webhook_on_number=True)
    number = _pooled(client, service_sid, buy, sms_url=receiver.url("/number"),
                     sms_fallback_url=receiver.url("/number-fallback"))
    inbound = sim.text("+15558677004", number.phone_number, "to the number")
    call = _calls_to(receiver, "/number")[0]
    assert _signed(call, receiver.url("/number"), account[1])
    assert call.param("MessagingServiceSid") == service_sid  # the message is the service's all the same
    assert _calls_to(receiver, "/number-fallback")[0].param("ErrorUrl") == receiver.url("/number")
    assert [m["body"] for m in eventually(lambda: sim.inbox("+15558677004"))] == ["from the number's fallback"]
    assert receiver.to("/service") == [] and receiver.to("/service-fallback") == []
    assert client.messages(inbound["sid"]).fetch().messaging_service_sid == service_sid


def test_with_use_inbound_webhook_on_number_the_number_s_application_wins(
        client: Client, account: tuple[str, str], service_sid: str, buy: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"),
                                                     use_inbound_webhook_on_number=True)
    app = client.applications.create(friendly_name="bot", sms_url=receiver.url("/app"))
    number = _pooled(client, service_sid, buy, sms_url=receiver.url("/number"), sms_application_sid=app.sid)
    sim.text("+15558677005", number.phone_number, "to the app")
    call = _calls_to(receiver, "/app")[0]
    assert _signed(call, receiver.url("/app"), account[1]) and call.param("MessagingServiceSid") == service_sid
    assert receiver.to("/service") == [] and receiver.to("/number") == []


def test_with_use_inbound_webhook_on_number_a_number_without_a_url_leaves_the_service_s(
        client: Client, account: tuple[str, str], service_sid: str, buy: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    """Twilio documents the number's URL as *overriding* the service's: a number with none overrides nothing."""
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"),
                                                     use_inbound_webhook_on_number=True)
    number = _pooled(client, service_sid, buy)
    sim.text("+15558677006", number.phone_number, "no url on the number")
    call = _calls_to(receiver, "/service")[0]
    assert _signed(call, receiver.url("/service"), account[1]) and call.param("MessagingServiceSid") == service_sid


def _routed_nowhere(client: Client, sim: Sim, receiver: Receiver, service_sid: str, number: Any,
                    handset: str) -> None:
    """A message to ``number`` is stored (with the service's SID) and requests nothing: once its webhook job has
    run (its ``date_sent`` is set in the transaction that finds its route), the service is given a URL, and the
    next message goes there; the first one never went anywhere."""
    inbound = sim.text(handset, number.phone_number, "into the void")
    stored = eventually(lambda: (m := client.messages(inbound["sid"]).fetch()).date_sent is not None and m)
    assert (stored.status, stored.messaging_service_sid, stored.body) == ("received", service_sid, "into the void")
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"),
                                                     use_inbound_webhook_on_number=False)
    second = sim.text(handset, number.phone_number, "now routed")
    calls = _calls_to(receiver, "/service")
    assert [(c.param("MessageSid"), c.param("Body")) for c in receiver.requests] == [(second["sid"], "now routed")]
    assert [c.path for c in calls] == ["/service"]
    assert [m.sid for m in client.messages.list(from_=handset)] == [second["sid"], inbound["sid"]]


def test_a_service_without_an_inbound_url_stores_the_message_and_routes_it_nowhere(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    """Not even to the number's own SmsUrl: the service's (empty) settings win."""
    number = _pooled(client, service_sid, buy, sms_url=receiver.url("/number"))
    _routed_nowhere(client, sim, receiver, service_sid, number, "+15558677007")


def test_with_use_inbound_webhook_on_number_and_nothing_configured_the_message_is_routed_nowhere(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(use_inbound_webhook_on_number=True)
    number = _pooled(client, service_sid, buy)
    _routed_nowhere(client, sim, receiver, service_sid, number, "+15558677008")


def test_a_number_taken_out_of_the_pool_is_routed_by_its_own_url_again(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"))
    number = _pooled(client, service_sid, buy, sms_url=receiver.url("/number"))
    client.messaging.v1.services(service_sid).phone_numbers(number.sid).delete()
    inbound = sim.text("+15558677009", number.phone_number, "on my own")
    call = _calls_to(receiver, "/number")[0]
    assert call.param("MessagingServiceSid") is None
    assert client.messages(inbound["sid"]).fetch().messaging_service_sid is None
    assert receiver.to("/service") == []


def test_an_opt_out_keyword_to_a_pool_number_is_answered_and_passed_to_the_service(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    client.messaging.v1.services(service_sid).update(inbound_request_url=receiver.url("/service"))
    number = _pooled(client, service_sid, buy)
    sim.text("+15558677010", number.phone_number, "STOP")
    call = _calls_to(receiver, "/service")[0]
    assert call.param("OptOutType") == "STOP" and call.param("MessagingServiceSid") == service_sid
    inbox = eventually(lambda: sim.inbox("+15558677010"))
    assert "unsubscribed" in inbox[0]["body"] and inbox[0]["from"] == number.phone_number
