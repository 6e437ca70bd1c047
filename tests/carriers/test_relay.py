"""The Twilio relay carrier against a second real Loft standing in for Twilio: sends go upstream with the same
From/To/Body and come back as status callbacks; the upstream's inbound webhooks reach the tenant's own webhook,
signed with the tenant's token; callbacks and webhooks are verified, taken once, and taken in any order.

The upstream's main account is the relay's. Each test has a tenant of its own on the front, with a number that
the relay's account owns upstream too, and destinations (``+447700…``, routed to the relay) of its own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from loft.webhooks import signing
from tests.conftest import make_server
from tests.support import relay
from tests.support.receiver import Answer, Receiver
from tests.support.relay import Line
from tests.support.server import LoftServer
from tests.support.waiting import eventually

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a3b40000000049454e44ae426082")


def _upstream_messages(line: Line, to: str) -> list[Any]:
    """What the relay sent upstream to ``to`` (the upstream's own auto-replies left out)."""
    return [m for m in line.upstream.messages.list(to=to, from_=line.number) if m.direction == "outbound-api"]


def _attempts(front: LoftServer, message_sid: str) -> list[tuple[Any, ...]]:
    """(carrier, reference, status, error_code) of the message's hand-offs, read from the front's database."""
    return relay.query(
        front, "SELECT carrier, reference, status, error_code FROM delivery_attempts WHERE message_sid = ? "
               "ORDER BY id", message_sid)


def _callbacks(receiver: Receiver, path: str, count: int) -> list[tuple[str, str | None]]:
    """The tenant's status callbacks, (status, error code) each, in the order of Twilio's statuses: each status
    change is its own callback, and, as at Twilio, two of them may arrive in either order."""
    calls = receiver.wait_for(lambda got: len([r for r in got if r.path == path]) >= count)
    order = ["queued", "sent", "delivered", "undelivered", "failed"]
    return sorted(((str(call.param("MessageStatus")), call.param("ErrorCode")) for call in calls if call.path == path),
                  key=lambda pair: order.index(pair[0]))


# Sending through the relay ---------------------------------------------------------------------------------

def test_a_relayed_message_reaches_the_upstream_handset_and_its_delivery_comes_back(
        front: LoftServer, line: Line, receiver: Receiver) -> None:
    to = relay.destination()
    sent = line.tenant.messages.create(to=to, from_=line.number, body="hello through the relay",
                                       status_callback=receiver.url("/status"))
    assert sent.status == "queued"

    upstream_copy = eventually(lambda: _upstream_messages(line, to))
    assert [(m.from_, m.to, m.body, m.direction) for m in upstream_copy] == [
        (line.number, to, "hello through the relay", "outbound-api")]
    inbox = eventually(lambda: line.upstream_sim.inbox(to))
    assert [(m["from"], m["body"]) for m in inbox] == [(line.number, "hello through the relay")]

    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered")
    assert _callbacks(receiver, "/status", 2) == [("sent", None), ("delivered", None)]
    upstream_sid = upstream_copy[0].sid
    assert _attempts(front, sent.sid) == [(relay.NAME, upstream_sid, "delivered", None)]
    fetched = line.tenant.messages(sent.sid).fetch()
    assert fetched.error_code is None and fetched.date_sent is not None


def test_an_unreachable_handset_upstream_makes_the_message_undelivered_with_30003(
        front: LoftServer, line: Line, receiver: Receiver) -> None:
    to = relay.destination()
    line.upstream_sim.configure(to, Behavior="unreachable")
    sent = line.tenant.messages.create(to=to, from_=line.number, body="anyone there?",
                                       status_callback=receiver.url("/status"))
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "undelivered")
    assert line.tenant.messages(sent.sid).fetch().error_code == 30003
    assert _callbacks(receiver, "/status", 2) == [("sent", None), ("undelivered", "30003")]
    assert _attempts(front, sent.sid)[0][2:] == ("undelivered", 30003)


def test_a_recipient_opted_out_upstream_fails_the_message_with_21610_and_is_opted_out_here(
        upstream: LoftServer, front: LoftServer, stack: Callable[[Line], Line]) -> None:
    # The upstream number has no SmsUrl: the STOP stays upstream, and the front learns of it only from the relay.
    line = stack(relay.open_line(upstream, front, sms_url=False))
    to = relay.destination()
    line.upstream_sim.text(to, line.number, "STOP")
    sent = line.tenant.messages.create(to=to, from_=line.number, body="are you still there?")
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "failed")
    assert line.tenant.messages(sent.sid).fetch().error_code == 21610
    assert _attempts(front, sent.sid) == [(relay.NAME, None, "rejected", 21610)]
    with pytest.raises(TwilioRestException) as refused:  # recorded here: the next send is refused at once
        line.tenant.messages.create(to=to, from_=line.number, body="and now?")
    assert refused.value.code == 21610
    assert [m.body for m in _upstream_messages(line, to)] == []


def test_media_go_upstream_as_the_tenant_gave_them(line: Line, receiver: Receiver) -> None:
    receiver.answer("/dot.png", Answer(raw=PNG, content_type="image/png"))
    to = relay.destination()
    sent = line.tenant.messages.create(to=to, from_=line.number, body="a dot", media_url=[receiver.url("/dot.png")])
    upstream_copy = eventually(lambda: _upstream_messages(line, to))
    assert upstream_copy[0].num_media == "1"
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered")
    inbox = line.upstream_sim.inbox(to)
    assert len(inbox[0]["media_urls"]) == 1
    assert len(receiver.to("/dot.png")) == 2  # fetched by the front (checked), then by the upstream from there


# Inbound messages ------------------------------------------------------------------------------------------

def test_a_handset_texting_the_number_upstream_reaches_the_tenants_webhook_signed_with_its_token(
        line: Line, receiver: Receiver) -> None:
    line.tenant.incoming_phone_numbers.list(phone_number=line.number)[0].update(sms_url=receiver.url("/sms"))
    handset = relay.destination()
    texted = line.upstream_sim.text(handset, line.number, "hello loft")

    call = receiver.wait_for(lambda got: len(got) >= 1)[0]
    assert call.path == "/sms"
    assert RequestValidator(line.tenant_auth[1]).validate(receiver.url("/sms"), call.params,
                                                          call.headers["x-twilio-signature"])
    params = call.params
    assert (params["From"], params["To"], params["Body"]) == (handset, line.number, "hello loft")
    assert params["AccountSid"] == line.tenant_auth[0] and params["MessageSid"] != texted["sid"]
    stored = line.tenant.messages.list(from_=handset)
    assert [(m.direction, m.status, m.body) for m in stored] == [("inbound", "received", "hello loft")]

    # The upstream was answered with an empty <Response/>: it sent nothing back to the handset.
    log = eventually(lambda: line.upstream_sim.webhooks(str(line.upstream.account_sid), texted["sid"]))
    assert log[0]["status_code"] == 200 and "<Response/>" in log[0]["response_excerpt"]
    assert line.upstream_sim.inbox(handset) == []


def test_a_message_from_upstream_to_a_pool_number_goes_to_the_tenant_s_messaging_service(
        line: Line, receiver: Receiver) -> None:
    """Carriers end where the simulator's handsets do: the service's URL wins, and the message is the service's."""
    number = line.tenant.incoming_phone_numbers.list(phone_number=line.number)[0].update(
        sms_url=receiver.url("/number"))
    service = line.tenant.messaging.v1.services.create(friendly_name="relayed", inbound_request_url=receiver.url("/mg"))
    line.tenant.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    line.upstream_sim.text(relay.destination(), line.number, "to the service")

    call = receiver.wait_for(lambda got: len(got) >= 1)[0]
    assert call.path == "/mg" and call.param("MessagingServiceSid") == service.sid
    assert RequestValidator(line.tenant_auth[1]).validate(receiver.url("/mg"), call.params,
                                                          call.headers["x-twilio-signature"])
    assert line.tenant.messages(str(call.param("MessageSid"))).fetch().messaging_service_sid == service.sid


def test_a_stop_from_upstream_opts_out_here_without_a_second_auto_reply(line: Line, receiver: Receiver) -> None:
    line.tenant.incoming_phone_numbers.list(phone_number=line.number)[0].update(sms_url=receiver.url("/sms"))
    handset = relay.destination()
    line.upstream_sim.text(handset, line.number, "STOP")
    call = receiver.wait_for(lambda got: len(got) >= 1)[0]
    assert call.param("OptOutType") == "STOP"
    with pytest.raises(TwilioRestException) as refused:
        line.tenant.messages.create(to=handset, from_=line.number, body="one more?")
    assert refused.value.code == 21610
    # The upstream answered the STOP (as Twilio does); the front adds no reply of its own.
    assert [m.direction for m in line.tenant.messages.list(to=handset)] == []
    upstream_replies = eventually(lambda: line.upstream_sim.inbox(handset))
    assert len(upstream_replies) == 1 and "unsubscribed" in upstream_replies[0]["body"]


# What the routes accept ------------------------------------------------------------------------------------

def _inbound_params(line: Line, handset: str, body: str) -> list[tuple[str, str]]:
    return [("AccountSid", line.upstream.account_sid), ("ApiVersion", "2010-04-01"), ("Body", body),
            ("From", handset), ("MessageSid", "SM" + secrets.token_hex(16)), ("NumMedia", "0"),
            ("To", line.number)]


@pytest.mark.parametrize("signature", [
    pytest.param(None, id="missing"),
    pytest.param("tenant", id="signed-with-the-tenants-token"),
    pytest.param("other-url", id="signed-for-another-url"),
    pytest.param("tampered", id="a-parameter-changed-after-signing"),
])
def test_an_inbound_webhook_not_signed_by_the_upstream_is_refused_and_nothing_is_stored(
        upstream: LoftServer, front: LoftServer, line: Line, signature: str | None) -> None:
    handset = relay.destination()
    params = _inbound_params(line, handset, "let me in")
    url = relay.inbound_url(front)
    given = {None: "", "tenant": signing.signature(line.tenant_auth[1], url, params),
             "other-url": signing.signature(upstream.auth_token, url + "?x=1", params),
             "tampered": signing.signature(upstream.auth_token, url, [*params[:2], ("Body", "other")])}[signature]
    response = relay.signed_post(url, upstream.auth_token, params, signature=given)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == 20003 and "X-Twilio-Signature" in response.json()["message"]
    assert line.tenant.messages.list(from_=handset) == []
    # The same request signed by the upstream is taken.
    assert relay.signed_post(url, upstream.auth_token, params).status_code == 200
    assert len(eventually(lambda: line.tenant.messages.list(from_=handset))) == 1


def test_a_status_callback_not_signed_by_the_upstream_is_refused(upstream: LoftServer, front: LoftServer,
                                                                 line: Line) -> None:
    params = [("MessageSid", "SM" + secrets.token_hex(16)), ("MessageStatus", "delivered")]
    response = relay.signed_post(relay.status_url(front), line.tenant_auth[1], params)
    assert response.status_code == 403 and response.json()["code"] == 20003
    assert relay.signed_post(relay.status_url(front), upstream.auth_token, params).status_code == 204
    # (a report naming no hand-off waits in the outbox to be matched, and is dropped after a few tries)


@pytest.mark.parametrize("path", ["/carriers/smsc/inbound", "/carriers/smsc/status", "/carriers/sim/status"])
def test_a_carrier_name_with_no_relay_is_not_found(upstream: LoftServer, front: LoftServer, path: str) -> None:
    url = front.base_url + path
    response = relay.signed_post(url, upstream.auth_token, [("MessageSid", "SM" + "0" * 32)])
    assert response.status_code == 404 and response.json()["code"] == 20404


def test_an_inbound_webhook_answers_empty_twiml(upstream: LoftServer, front: LoftServer, line: Line) -> None:
    response = relay.signed_post(relay.inbound_url(front), upstream.auth_token,
                                 _inbound_params(line, relay.destination(), "hi"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response/>")
    assert httpx.get(relay.inbound_url(front)).status_code == 405


def test_a_webhook_sent_again_with_the_same_idempotency_token_is_stored_once(
        upstream: LoftServer, front: LoftServer, line: Line) -> None:
    handset = relay.destination()
    params = _inbound_params(line, handset, "only once")
    token = secrets.token_hex(20)
    for _ in range(3):
        assert relay.signed_post(relay.inbound_url(front), upstream.auth_token, params,
                                 idempotency=token).status_code == 200
    assert [m.body for m in line.tenant.messages.list(from_=handset)] == ["only once"]
    assert relay.signed_post(relay.inbound_url(front), upstream.auth_token, params,
                             idempotency=secrets.token_hex(20)).status_code == 200  # another webhook: taken
    assert [m.body for m in line.tenant.messages.list(from_=handset)] == ["only once", "only once"]


# Status callbacks in any order -----------------------------------------------------------------------------

def test_callbacks_out_of_order_leave_the_final_status(upstream: LoftServer, front: LoftServer, line: Line,
                                                       receiver: Receiver) -> None:
    to = relay.destination()
    line.upstream_sim.configure(to, ReceiptDelayMs=3_600_000)  # the upstream's own report waits an hour
    sent = line.tenant.messages.create(to=to, from_=line.number, body="in any order",
                                       status_callback=receiver.url("/status"))
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "sent")
    upstream_sid = str(_upstream_messages(line, to)[0].sid)

    def callback(status: str, **more: str) -> int:
        params = [("AccountSid", upstream.account_sid), ("MessageSid", upstream_sid), ("MessageStatus", status),
                  *more.items()]
        return relay.signed_post(relay.status_url(front), upstream.auth_token, params,
                                 idempotency=secrets.token_hex(20)).status_code

    assert callback("delivered") == 204
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered")
    assert callback("sent") == 204
    assert callback("undelivered", ErrorCode="30005") == 204
    assert callback("queued") == 204  # a status on the way: ignored
    assert _callbacks(receiver, "/status", 2) == [("sent", None), ("delivered", None)]
    time.sleep(1)
    assert len(receiver.to("/status")) == 2  # nothing announced after delivered
    fetched = line.tenant.messages(sent.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("delivered", None)
    assert _attempts(front, sent.sid) == [(relay.NAME, upstream_sid, "delivered", None)]


def test_a_failure_reported_later_with_21610_opts_the_recipient_out(upstream: LoftServer, front: LoftServer,
                                                                   line: Line) -> None:
    to = relay.destination()
    line.upstream_sim.configure(to, ReceiptDelayMs=3_600_000)
    sent = line.tenant.messages.create(to=to, from_=line.number, body="later refused")
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "sent")
    upstream_sid = str(_upstream_messages(line, to)[0].sid)
    params = [("MessageSid", upstream_sid), ("MessageStatus", "failed"), ("ErrorCode", "21610")]
    assert relay.signed_post(relay.status_url(front), upstream.auth_token, params).status_code == 204
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "failed")
    assert line.tenant.messages(sent.sid).fetch().error_code == 21610
    with pytest.raises(TwilioRestException) as refused:
        line.tenant.messages.create(to=to, from_=line.number, body="again?")
    assert refused.value.code == 21610


# The upstream away -----------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("own_postgres_database") if request.param == "postgres" else None


def _outbox_attempts(front: LoftServer, message_sid: str) -> list[int]:
    return [row[0] for row in relay.query(front, "SELECT attempts FROM outbox WHERE subject_sid = ? AND kind = 'send'",
                                          message_sid)]


def test_a_message_waits_queued_while_the_upstream_is_down_and_leaves_once_it_is_up(
        tmp_path: Path, backend: str | None, stack: Callable[[Line], Line]) -> None:
    upstream = make_server(tmp_path / "upstream")
    front = make_server(tmp_path / "front", backend)
    front.extra_env = relay.front_env(front, relay.carriers_file(tmp_path / "carriers.toml", upstream))
    with upstream.running():
        number = relay.buy_upstream(upstream, front)
    with front.running():
        line = stack(relay.open_line(upstream, front, number=number))
        to = relay.destination()
        sent = line.tenant.messages.create(to=to, from_=line.number, body="wait for me")
        eventually(lambda: "cannot be reached" in front.log(), timeout=10)
        for _ in range(3):  # tried again and again, deferred each time: no retry spent, nothing failed
            assert line.tenant.messages(sent.sid).fetch().status == "queued"
            assert _outbox_attempts(front, sent.sid) in ([0], [1])
            time.sleep(1.5)
        with upstream.running():
            eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered", timeout=30)
            assert [m.body for m in _upstream_messages(line, to)] == ["wait for me"]
            assert "answers again" in front.log()
    assert upstream.auth_token not in front.log()  # the warnings name the carrier and the failure, no secret
