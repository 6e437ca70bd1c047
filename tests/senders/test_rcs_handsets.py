"""The simulator's RCS handsets: ``Rcs=true`` on a handset, the channel of what it received, and what it sends
to an RCS sender — a plain reply or a button tap (``ButtonPayload``, ``ButtonText``) — reaching the webhook of the
service whose pool holds the sender (or the sender's own), signed, ``From`` ``rcs:+<phone>``, ``To`` the sender.

An RCS message's ``content`` is checked with a message sent with a content template through a Messaging Service
whose pool has the RCS sender (tests/content/test_send.py tests that send in full).

The Loft API side through the official SDK; ``/sim/v1`` over plain HTTP, its answers checked against Loft's own
OpenAPI document; the webhooks on a real receiver, their signature checked with twilio's ``RequestValidator``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.twiml.messaging_response import MessagingResponse

from tests.senders.conftest import WEBHOOK, request
from tests.senders.conftest import agent as new_agent
from tests.support import openapi
from tests.support.receiver import Answer, Received, Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

HANDSET = "/sim/v1/Handsets/{PhoneNumber}"
MESSAGES = HANDSET + "/Messages"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _online(client: Client, create_sender: Callable[..., Any], **body: Any) -> Any:
    """A new RCS sender of the test's account, once the simulated launch has brought it ``ONLINE``."""
    sender = create_sender(**body)
    fetch = client.messaging.v2.channels_senders(sender.sid).fetch
    assert eventually(lambda: fetch().status == "ONLINE", timeout=10)
    return sender


def _pooled_sender(client: Client, service_sid: str, create_sender: Callable[..., Any], url: str) -> Any:
    """An online RCS sender in the service's pool; the service's inbound webhook is ``url``."""
    client.messaging.v1.services(service_sid).update(inbound_request_url=url)
    sender = _online(client, create_sender)
    client.messaging.v1.services(service_sid).channel_senders.create(sid=sender.sid)
    return sender


def _configure(sim: Sim, handset: str, **settings: str) -> dict[str, Any]:
    answer = sim.http.post(f"/sim/v1/Handsets/{handset}", data=settings)
    openapi.check_own(HANDSET, "POST", answer.status_code, answer.json())
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _send(sim: Sim, handset: str, **form: str) -> httpx.Response:
    """The handset sends ``form`` (``To``, ``Body``, ``ButtonPayload`` …); the answer, checked against the document."""
    answer = sim.http.post(f"/sim/v1/Handsets/{handset}/Messages", data=form)
    openapi.check_own(MESSAGES, "POST", answer.status_code, answer.json())
    return answer


def _inbox(sim: Sim, handset: str) -> list[dict[str, Any]]:
    answer = sim.http.get(f"/sim/v1/Handsets/{handset}/Messages")
    openapi.check_own(MESSAGES, "GET", answer.status_code, answer.json())
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages


def _call(receiver: Receiver, path: str) -> Received:
    receiver.wait_for(lambda got: any(call.path == path for call in got))
    return receiver.to(path)[0]


def _signed(call: Received, url: str, auth_token: str) -> bool:
    return bool(RequestValidator(auth_token).validate(url, call.params, call.headers["x-twilio-signature"]))


def test_a_handset_has_no_rcs_until_it_is_set_and_keeps_it_through_other_settings(sim: Sim) -> None:
    fetched = sim.http.get("/sim/v1/Handsets/+15558679101")
    openapi.check_own(HANDSET, "GET", 200, fetched.json())
    assert fetched.json()["rcs"] is False
    assert _configure(sim, "+15558679101", Rcs="true") == {
        "phone_number": "+15558679101", "behavior": "deliver", "receipt_delay_ms": 0, "rcs": True}
    assert _configure(sim, "+15558679101", Behavior="no-receipt")["rcs"] is True
    assert sim.http.get("/sim/v1/Handsets/+15558679101").json()["rcs"] is True
    assert _configure(sim, "+15558679101", Rcs="false")["rcs"] is False


def test_a_bad_rcs_flag_is_refused(sim: Sim) -> None:
    answer = sim.http.post("/sim/v1/Handsets/+15558679102", data={"Rcs": "maybe"})
    openapi.check_own(HANDSET, "POST", 400, answer.json())
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)
    assert "Rcs" in answer.json()["message"]


def test_received_messages_carry_their_channel_sms_or_mms_without_content(
        client: Client, sender: str, sim: Sim, receiver: Receiver) -> None:
    receiver.answer("/dot.png", Answer(raw=PNG, content_type="image/png"))
    sms = client.messages.create(to="+15558679103", from_=sender, body="plain")
    mms = client.messages.create(to="+15558679103", from_=sender, body="a dot", media_url=[receiver.url("/dot.png")])
    eventually(lambda: {status_of(client, sms.sid), status_of(client, mms.sid)} == {"delivered"})
    assert [(m["sid"], m["channel"], m["content"]) for m in _inbox(sim, "+15558679103")] == [
        (mms.sid, "mms", None), (sms.sid, "sms", None)]


def test_a_tap_reaches_the_service_s_webhook_signed_with_the_button(
        client: Client, account: tuple[str, str], service_sid: str, create_sender: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    agent = _pooled_sender(client, service_sid, create_sender, receiver.url("/rcs"))
    _configure(sim, "+15558679104", Rcs="true")

    answer = _send(sim, "+15558679104", To=agent.sender_id, ButtonPayload="confirm_order", ButtonText="Confirm")
    assert answer.status_code == 201, answer.text
    tap = answer.json()
    assert (tap["from"], tap["to"], tap["body"], tap["direction"]) == (
        "rcs:+15558679104", agent.sender_id, "Confirm", "inbound")

    call = _call(receiver, "/rcs")
    assert call.method == "POST" and _signed(call, receiver.url("/rcs"), account[1])
    params = call.params
    assert (params["From"], params["To"], params["Body"]) == ("rcs:+15558679104", agent.sender_id, "Confirm")
    assert (params["ButtonPayload"], params["ButtonText"]) == ("confirm_order", "Confirm")
    assert (params["MessageSid"], params["MessagingServiceSid"], params["AccountSid"]) == (
        tap["sid"], service_sid, account[0])
    fetched = client.messages(tap["sid"]).fetch()
    assert (fetched.direction, fetched.from_, fetched.to) == ("inbound", "rcs:+15558679104", agent.sender_id)
    assert fetched.messaging_service_sid == service_sid


def test_a_plain_reply_from_an_rcs_handset_reaches_the_service_s_webhook_without_buttons(
        client: Client, account: tuple[str, str], service_sid: str, create_sender: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    agent = _pooled_sender(client, service_sid, create_sender, receiver.url("/rcs"))
    _configure(sim, "+15558679105", Rcs="true")
    answer = _send(sim, "+15558679105", To=agent.sender_id, Body="STOP sending me cards")
    assert answer.status_code == 201, answer.text
    call = _call(receiver, "/rcs")
    assert _signed(call, receiver.url("/rcs"), account[1])
    assert (call.param("From"), call.param("To"), call.param("Body")) == (
        "rcs:+15558679105", agent.sender_id, "STOP sending me cards")
    assert call.param("MessagingServiceSid") == service_sid
    assert call.param("ButtonPayload") is None and call.param("ButtonText") is None


def test_a_sender_in_no_pool_routes_to_its_own_webhook(
        client: Client, account: tuple[str, str], create_sender: Callable[..., Any], sim: Sim,
        receiver: Receiver) -> None:
    agent = _online(client, create_sender, webhook={**WEBHOOK, "callback_url": receiver.url("/agent")})
    _configure(sim, "+15558679106", Rcs="true")
    assert _send(sim, "+15558679106", To=agent.sender_id, ButtonPayload="yes", ButtonText="Yes").status_code == 201
    call = _call(receiver, "/agent")
    assert _signed(call, receiver.url("/agent"), account[1])
    assert (call.param("From"), call.param("ButtonPayload")) == ("rcs:+15558679106", "yes")
    assert call.param("MessagingServiceSid") is None


def test_a_handset_without_rcs_cannot_tap_or_write_to_an_rcs_sender(
        client: Client, service_sid: str, create_sender: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    agent = _pooled_sender(client, service_sid, create_sender, receiver.url("/rcs"))
    for form in ({"ButtonPayload": "confirm_order", "ButtonText": "Confirm"}, {"Body": "hello"}):
        answer = _send(sim, "+15558679107", To=agent.sender_id, **form)
        assert (answer.status_code, answer.json()["code"]) == (400, 63106)
        assert "Rcs=true" in answer.json()["message"]
    assert client.messages.list(to=agent.sender_id) == []


def test_taps_to_unknown_or_other_accounts_senders_and_to_numbers_are_refused(
        client: Client, other_client: Client, sender: str, create_sender: Callable[..., Any], sim: Sim) -> None:
    theirs = _online(other_client, lambda: other_client.messaging.v2.channels_senders.create(
        request({"sender_id": new_agent()})))
    _configure(sim, "+15558679108", Rcs="true")
    for to in ("rcs:nobody_at_all", theirs.sender_id):
        answer = _send(sim, "+15558679108", To=to, ButtonPayload="x", ButtonText="X")
        assert (answer.status_code, answer.json()["code"]) == (404, 20404)
    answer = _send(sim, "+15558679108", To=sender, ButtonPayload="x", ButtonText="X")
    assert (answer.status_code, answer.json()["code"]) == (400, 21604)
    assert "rcs:<agent>" in answer.json()["message"]


def test_a_button_text_without_its_payload_is_refused(
        client: Client, create_sender: Callable[..., Any], sim: Sim) -> None:
    agent = _online(client, create_sender)
    _configure(sim, "+15558679109", Rcs="true")
    for tap in ({"ButtonText": "Confirm"}, {"ButtonPayload": "", "ButtonText": "Confirm"}):
        answer = _send(sim, "+15558679109", To=agent.sender_id, **tap)
        assert (answer.status_code, answer.json()["code"]) == (400, 20001)
        assert "ButtonPayload" in answer.json()["message"]


def test_a_parent_s_rcs_setting_applies_to_its_subaccounts_until_they_set_their_own(
        loft: LoftServer, client: Client, create_sender: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    agent = _online(client, create_sender, webhook={**WEBHOOK, "callback_url": receiver.url("/agent")})
    parent = Sim(loft.base_url, (loft.account_sid, loft.auth_token))
    try:
        _configure(parent, "+15558679110", Rcs="true")
        assert sim.http.get("/sim/v1/Handsets/+15558679110").json()["rcs"] is True
        assert _send(sim, "+15558679110", To=agent.sender_id, Body="inherited").status_code == 201
        _configure(sim, "+15558679110", Rcs="false")
        assert parent.http.get("/sim/v1/Handsets/+15558679110").json()["rcs"] is True
        answer = _send(sim, "+15558679110", To=agent.sender_id, Body="not any more")
        assert (answer.status_code, answer.json()["code"]) == (400, 63106)
    finally:
        parent.http.close()
    assert _call(receiver, "/agent").param("Body") == "inherited"


CARD = {"twilio/card": {"title": "Order {{1}}", "subtitle": "for {{name}}", "media": ["https://example.com/{{1}}.png"],
                        "actions": [{"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks_{{1}}"},
                                    {"type": "URL", "title": "Track", "url": "https://example.com/t/{{1}}"}]},
        "twilio/text": {"body": "Order {{1}} for {{name}}"}}


def test_an_rcs_message_shows_its_rendered_content_and_its_button_is_tapped(
        client: Client, account: tuple[str, str], service_sid: str,
        create_sender: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    agent = _pooled_sender(client, service_sid, create_sender, receiver.url("/rcs"))
    template = client.content.v1.contents.create(ContentList.ContentCreateRequest(
        {"friendly_name": "shipped", "language": "en", "variables": {"name": "there"}, "types": CARD}))
    _configure(sim, "+15558679111", Rcs="true")
    sid = client.messages.create(to="+15558679111", messaging_service_sid=service_sid, content_sid=template.sid,
                                 content_variables=json.dumps({"1": "A7", "name": "Ada"})).sid

    shown = eventually(lambda: _inbox(sim, "+15558679111"))[0]
    assert (shown["sid"], shown["from"], shown["channel"], shown["body"]) == (
        sid, agent.sender_id, "rcs", "Order A7 for Ada")
    assert shown["content"] == {
        "type": "twilio/card", "title": "Order A7", "subtitle": "for Ada", "media": ["https://example.com/A7.png"],
        "actions": [{"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks_A7"},
                    {"type": "URL", "title": "Track", "url": "https://example.com/t/A7"}]}

    button = shown["content"]["actions"][0]
    tap = _send(sim, "+15558679111", To=shown["from"], ButtonPayload=button["id"], ButtonText=button["title"])
    assert tap.status_code == 201, tap.text
    call = _call(receiver, "/rcs")
    assert _signed(call, receiver.url("/rcs"), account[1])
    assert (call.param("ButtonPayload"), call.param("ButtonText"), call.param("From")) == (
        "thanks_A7", "Thanks", "rcs:+15558679111")


def test_a_twiml_reply_to_a_tap_reaches_the_handset_over_rcs(
        client: Client, service_sid: str, create_sender: Callable[..., Any], sim: Sim, receiver: Receiver) -> None:
    agent = _pooled_sender(client, service_sid, create_sender, receiver.url("/rcs"))
    reply = MessagingResponse()
    reply.message("Thanks, noted")
    receiver.answer("/rcs", Answer(body=str(reply), content_type="text/xml"))
    _configure(sim, "+15558679112", Rcs="true")
    assert _send(sim, "+15558679112", To=agent.sender_id, ButtonPayload="ok", ButtonText="OK").status_code == 201
    shown = eventually(lambda: _inbox(sim, "+15558679112"))[0]
    assert (shown["from"], shown["to"], shown["body"], shown["channel"]) == (
        agent.sender_id, "+15558679112", "Thanks, noted", "rcs")
    sent = client.messages(shown["sid"]).fetch()
    assert (sent.direction, sent.from_, sent.to) == ("outbound-reply", agent.sender_id, "rcs:+15558679112")
    assert eventually(lambda: status_of(client, sent.sid) == "delivered")
