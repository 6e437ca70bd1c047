"""The SMPP carrier against a third-party SMSC (node-smpp, tests/support/smsc): sends reach it with the right
fields and come back as delivery reports; long and UCS-2 messages go in parts (UDH, SAR or message_payload);
receipts and refusals map to Twilio's codes; mobile-originated messages (single, in parts, UCS-2) reach the
tenant's webhook, its TwiML reply goes back out through the SMSC, STOP opts out; throttling spends no retries;
the window and the throughput limit hold.

One SMSC and one Loft (per backend) for the module. The carriers file binds five carriers to that SMSC, one per
way of sending, each taking a UK prefix of its own (``+44`` for the default one). Every test has a tenant of its
own, destinations of its own, and the SMSC's records and orders reset.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.conftest import fresh_database, make_server
from tests.support import clients
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.smsc import ESME_ROK, ESME_RTHROTTLED, Smsc, Submit, carriers_file
from tests.support.waiting import eventually

#: name → (the prefix routed to it, its settings).
CARRIERS: dict[str, tuple[str, dict[str, object]]] = {
    "smsc": ("+44", {"receipt_errors": {"011": 30005}}),
    "sar": ("+4477001", {"concatenation": "sar"}),
    "payload": ("+4477002", {"concatenation": "payload"}),
    "narrow": ("+4477003", {"window": 2}),
    "paced": ("+4477004", {"throughput": 5}),
}
COMMON = {"response_seconds": 5, "reconnect_max_seconds": 1}


@dataclass
class Gateway:
    server: LoftServer
    smsc: Smsc


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp(f"smpp-{request.param}")
    with ExitStack() as stack:
        url = (stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
               if request.param == "postgres" else None)
        smsc = stack.enter_context(Smsc(log_dir=root / "smsc").running())
        server = make_server(root / "loft", url)
        carriers = {name: (prefix, {**COMMON, **settings}) for name, (prefix, settings) in CARRIERS.items()}
        server.extra_env = {"LOFT_CARRIERS_FILE": str(carriers_file(root / "carriers.toml", smsc, carriers))}
        stack.enter_context(server.running())
        eventually(lambda: len(smsc.bound()) == len(CARRIERS), timeout=15)
        yield Gateway(server, smsc)


@pytest.fixture
def smsc(gateway: Gateway) -> Smsc:
    """The module's SMSC, its records and orders forgotten (the binds stay)."""
    gateway.smsc.reset()
    return gateway.smsc


@dataclass
class Tenant:
    client: Client
    sid: str
    token: str
    number: str

    def deliveries(self, server: LoftServer, message_sid: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{server.base_url}/loft/v1/Accounts/{self.sid}/Messages/{message_sid}/Deliveries",
                             auth=(self.sid, self.token), timeout=30)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["deliveries"]
        return found


@pytest.fixture
def tenant(gateway: Gateway, receiver: Receiver) -> Tenant:
    """A fresh account with a number whose SmsUrl is the receiver's ``/sms``."""
    main = clients.sdk(gateway.server.base_url, gateway.server.account_sid, gateway.server.auth_token)
    account = main.api.accounts.create(friendly_name="smpp tenant")
    client = clients.sdk(gateway.server.base_url, account.sid, account.auth_token)
    number = client.incoming_phone_numbers.create(area_code="415", sms_url=receiver.url("/sms")).phone_number
    return Tenant(client, account.sid, account.auth_token, number)


def phone(prefix: str = "+4477009") -> str:
    """A UK mobile number under ``prefix`` (by default one of the ``smsc`` carrier's) that no other test uses."""
    return prefix + "".join(secrets.choice("0123456789") for _ in range(13 - len(prefix)))


def status_of(tenant: Tenant, sid: str) -> str:
    return str(tenant.client.messages(sid).fetch().status)


def final(tenant: Tenant, sid: str, timeout: float = 15) -> Any:
    """The message once its status is final."""
    def done() -> Any:
        message = tenant.client.messages(sid).fetch()
        return message if message.status in ("delivered", "undelivered", "failed") else None

    return eventually(done, timeout=timeout)


def accepted_to(smsc: Smsc, destination: str, count: int = 1) -> list[Submit]:
    """The submits the SMSC accepted for ``destination`` (its digits), once there are ``count``."""
    digits = destination.lstrip("+")

    def enough() -> list[Submit]:
        found = [submit for submit in smsc.accepted() if submit.destination == digits]
        return found if len(found) >= count else []

    found: list[Submit] = eventually(enough, timeout=15)
    return found


# -- sending -------------------------------------------------------------------------------------------------------


def test_a_send_reaches_the_smsc_and_comes_back_delivered(gateway: Gateway, smsc: Smsc, tenant: Tenant,
                                                          receiver: Receiver) -> None:
    to = phone()
    message = tenant.client.messages.create(to=to, from_=tenant.number, body="hello from Loft",
                                            status_callback=receiver.url("/status"))
    assert message.status == "queued"

    [submit] = accepted_to(smsc, to)
    assert (submit.source, submit.destination, submit.ton_npi) == (tenant.number[1:], to[1:], (1, 1, 1, 1))
    assert (submit.esm_class, submit.data_coding, submit.registered_delivery) == (0, 0, 1)
    assert (submit.text, submit.udh, submit.sar, submit.message_payload) == ("hello from Loft", None, None, None)

    calls = receiver.wait_for(lambda got: any(r.param("MessageStatus") == "delivered" for r in got))
    statuses = [str(call.param("MessageStatus")) for call in calls if call.path == "/status"]
    assert sorted(statuses) == ["delivered", "sent"]  # each its own request: they may arrive in either order
    delivered = next(call for call in calls if call.param("MessageStatus") == "delivered")
    assert delivered.param("MessageSid") == message.sid and delivered.param("RawDlrDoneDate")
    assert RequestValidator(tenant.token).validate(receiver.url("/status"), delivered.params,
                                                   delivered.headers["x-twilio-signature"])
    assert final(tenant, message.sid).num_segments == "1"

    [attempt] = tenant.deliveries(gateway.server, message.sid)
    assert (attempt["carrier"], attempt["reference"], attempt["status"]) == ("smsc", submit.message_id, "delivered")
    assert attempt["parts"] == [{"reference": submit.message_id, "status": "delivered"}]
    assert [(report["stat"], report["err"]) for report in attempt["detail"]["reports"]] == [("DELIVRD", "000")]


def test_a_long_gsm_message_goes_in_udh_parts_and_is_delivered_once_all_are(
        gateway: Gateway, smsc: Smsc, tenant: Tenant) -> None:
    to = phone()
    body = "".join(f"part {n:03d} of a long message, with {{braces}} and €; " for n in range(8))  # escapes too
    smsc.outcome(to, delay_ms=1500)
    message = tenant.client.messages.create(to=to, from_=tenant.number, body=body)
    assert message.num_segments == "3"

    parts = accepted_to(smsc, to, 3)
    assert [part.udh and (part.udh.total, part.udh.seq) for part in parts] == [(3, 1), (3, 2), (3, 3)]
    assert len({part.udh and part.udh.ref for part in parts}) == 1
    assert {(part.esm_class, part.data_coding) for part in parts} == {(0x40, 0)}
    assert "".join(part.text or "" for part in parts) == body
    # Receipts come 1.5 s after each part: the message is sent until all three have said delivered.
    assert status_of(tenant, message.sid) == "sent"
    assert final(tenant, message.sid).status == "delivered"
    [attempt] = tenant.deliveries(gateway.server, message.sid)
    assert attempt["parts"] == [{"reference": part.message_id, "status": "delivered"} for part in parts]


@pytest.mark.parametrize(("body", "segments"), [
    pytest.param("Привет, Loft 👋", 1, id="one-part"),
    pytest.param("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 2, 2, id="two-parts"),
])
def test_text_outside_gsm_goes_as_ucs2(smsc: Smsc, tenant: Tenant, body: str, segments: int) -> None:
    to = phone()
    message = tenant.client.messages.create(to=to, from_=tenant.number, body=body)
    assert message.num_segments == str(segments)

    parts = accepted_to(smsc, to, segments)
    assert len(parts) == segments and {part.data_coding for part in parts} == {8}
    assert "".join(part.text or "" for part in parts) == body
    first = parts[0].short_message[6:] if segments > 1 else parts[0].short_message
    assert first.decode("utf-16-be") == (parts[0].text or "")
    assert final(tenant, message.sid).status == "delivered"


def test_the_sar_option_joins_parts_by_tlvs(smsc: Smsc, tenant: Tenant) -> None:
    to = phone("+4477001")
    body = "SAR " * 100
    message = tenant.client.messages.create(to=to, from_=tenant.number, body=body)

    parts = accepted_to(smsc, to, 3)
    assert [part.sar and (part.sar.total, part.sar.seq) for part in parts] == [(3, 1), (3, 2), (3, 3)]
    assert {part.esm_class for part in parts} == {0} and all(part.udh is None for part in parts)
    assert "".join(part.text or "" for part in parts) == body
    assert final(tenant, message.sid).status == "delivered"


def test_receipts_of_parts_that_overtake_their_record_all_count(smsc: Smsc, tenant: Tenant) -> None:
    """Receipts come at once: those of a message's first parts arrive before its hand-off (recorded once all its
    parts are taken) is, are kept, and are applied together later; each one counts (on PostgreSQL, in
    transactions of their own at the same time)."""
    sids = [tenant.client.messages.create(to=phone("+4477001"), from_=tenant.number, body="overtaken " * 60).sid
            for _ in range(6)]
    assert {final(tenant, sid).status for sid in sids} == {"delivered"}


def test_the_payload_option_sends_one_submit_with_the_whole_text(gateway: Gateway, smsc: Smsc,
                                                                  tenant: Tenant) -> None:
    to = phone("+4477002")
    body = "payload " * 60
    message = tenant.client.messages.create(to=to, from_=tenant.number, body=body)
    assert message.num_segments == "4"

    [submit] = accepted_to(smsc, to)
    assert (submit.short_message, submit.message_payload, submit.text) == (b"", body.encode(), body)
    assert final(tenant, message.sid).status == "delivered"
    [attempt] = tenant.deliveries(gateway.server, message.sid)
    assert [part["reference"] for part in attempt["parts"]] == [submit.message_id]


@pytest.mark.parametrize(("stat", "err", "code"), [
    pytest.param("UNDELIV", "001", 30003, id="undeliv"),
    pytest.param("UNDELIV", "011", 30005, id="undeliv-err-mapped-by-receipt_errors"),
    pytest.param("EXPIRED", "000", 30003, id="expired"),
    pytest.param("REJECTD", "000", 30007, id="rejectd"),
    pytest.param("UNKNOWN", "000", 30008, id="unknown"),
    pytest.param("DELETED", "000", 30008, id="deleted"),
])
def test_a_failed_receipt_leaves_the_message_undelivered_with_its_code(
        gateway: Gateway, smsc: Smsc, tenant: Tenant, receiver: Receiver, stat: str, err: str, code: int) -> None:
    to = phone()
    smsc.outcome(to, stat=stat, err=err)
    message = tenant.client.messages.create(to=to, from_=tenant.number, body="try",
                                            status_callback=receiver.url("/status"))

    done = final(tenant, message.sid)
    assert (done.status, done.error_code) == ("undelivered", code)
    calls = receiver.wait_for(lambda got: any(r.param("MessageStatus") == "undelivered" for r in got))
    assert next(c for c in calls if c.param("MessageStatus") == "undelivered").param("ErrorCode") == str(code)
    [attempt] = tenant.deliveries(gateway.server, message.sid)
    assert (attempt["status"], attempt["error_code"]) == ("undelivered", code)
    assert [(report["stat"], report["err"]) for report in attempt["detail"]["reports"]] == [(stat, err)]


@pytest.mark.parametrize(("status", "code"), [
    pytest.param("ESME_RINVDSTADR", 21211, id="invalid-destination"),
    pytest.param("ESME_RINVSRCADR", 21212, id="invalid-source"),
    pytest.param("ESME_RSUBMITFAIL", 30008, id="submit-failed"),
])
def test_a_refused_submit_fails_the_message_with_its_code(gateway: Gateway, smsc: Smsc, tenant: Tenant,
                                                          status: str, code: int) -> None:
    to = phone()
    smsc.outcome(to, status=status)
    message = tenant.client.messages.create(to=to, from_=tenant.number, body="refused")

    done = final(tenant, message.sid)
    assert (done.status, done.error_code) == ("failed", code)
    assert done.error_message
    [attempt] = tenant.deliveries(gateway.server, message.sid)
    assert (attempt["status"], attempt["error_code"], attempt["reference"]) == ("rejected", code, None)
    assert attempt["detail"]["command_status"] == status
    assert len(smsc.submits()) == 1  # refused for good: not handed over again


@pytest.mark.parametrize(("count", "status"), [
    pytest.param(9, "ESME_RTHROTTLED", id="throttled-more-than-the-retries"),
    pytest.param(3, "ESME_RMSGQFUL", id="queue-full"),
])
def test_throttling_defers_without_spending_retries(gateway: Gateway, smsc: Smsc, tenant: Tenant, count: int,
                                                    status: str) -> None:
    """The worker gives a send 8 attempts (MAX_ATTEMPTS); throttled 9 times, it is still delivered."""
    to = phone()
    smsc.throttle(count, status)
    message = tenant.client.messages.create(to=to, from_=tenant.number, body="throttled")

    assert final(tenant, message.sid, timeout=40).status == "delivered"
    submits = [submit for submit in smsc.submits() if submit.destination == to[1:]]
    assert [submit.status != ESME_ROK for submit in submits] == [True] * count + [False]
    if status == "ESME_RTHROTTLED":
        assert {submit.status for submit in submits[:-1]} == {ESME_RTHROTTLED}
    [attempt] = tenant.deliveries(gateway.server, message.sid)  # deferrals are not attempts
    assert attempt["reference"] == submits[-1].message_id


def test_the_window_bounds_unanswered_submits(smsc: Smsc, tenant: Tenant) -> None:
    """window = 2 and every answer held 400 ms: six sends go two at a time."""
    smsc.delay_responses(400)
    tos = [phone("+4477003") for _ in range(6)]
    sids = [tenant.client.messages.create(to=to, from_=tenant.number, body="windowed").sid for to in tos]

    submits = smsc.wait_for_submits(6)
    moments = sorted(submit.received_at.timestamp() for submit in submits)
    assert all(later - earlier >= 0.35 for earlier, later in zip(moments, moments[2:])), moments
    smsc.delay_responses(0)
    assert {final(tenant, sid).status for sid in sids} == {"delivered"}


def test_the_throughput_limit_paces_every_part(smsc: Smsc, tenant: Tenant) -> None:
    """throughput = 5: five submits at once at most, then five a second; a long message's parts count each."""
    tos = [phone("+4477004") for _ in range(3)]
    sids = [tenant.client.messages.create(to=to, from_=tenant.number, body="paced " * 80).sid for to in tos]

    submits = smsc.wait_for_submits(12)  # 4 parts each
    moments = sorted(submit.received_at.timestamp() for submit in submits)
    for first in range(len(moments)):
        for last in range(first, len(moments)):
            assert last - first + 1 <= 5 + 5 * (moments[last] - moments[first]) + 1, moments
    assert moments[-1] - moments[0] >= (12 - 5) / 5 - 0.1
    assert {final(tenant, sid).status for sid in sids} == {"delivered"}


def test_media_cannot_go_over_smpp(gateway: Gateway, smsc: Smsc, tenant: Tenant, receiver: Receiver) -> None:
    receiver.answer("/cat.png", Answer(content_type="image/png", raw=b"\x89PNG\r\n\x1a\n" + b"\0" * 64))
    message = tenant.client.messages.create(to=phone(), from_=tenant.number, body="see",
                                            media_url=[receiver.url("/cat.png")])
    done = final(tenant, message.sid)
    assert (done.status, done.error_code) == ("failed", 30008)
    assert smsc.submits() == []


# -- mobile-originated ------------------------------------------------------------------------------------------------


def _inbound(receiver: Receiver, body: str) -> Any:
    calls = receiver.wait_for(lambda got: any(r.path == "/sms" and r.param("Body") == body for r in got))
    return next(call for call in calls if call.path == "/sms" and call.param("Body") == body)


@pytest.mark.parametrize(("text", "options"), [
    pytest.param("hello Loft", {}, id="single"),
    pytest.param("".join(f"[{n:02d}] a long reply, sent in many parts " for n in range(6)),
                 {"part_octets": 20, "reverse": True}, id="udh-many-parts-last-first"),
    pytest.param("Ответ в нескольких частях, через SAR: " * 4, {"concat": "sar"}, id="ucs2-sar"),
    pytest.param("Grüße aus Köln, lange Nachricht " * 6, {"encoding": "latin1", "concat": "payload"},
                 id="latin1-payload"),
])
def test_a_mobile_originated_message_reaches_the_tenants_webhook(
        gateway: Gateway, smsc: Smsc, tenant: Tenant, receiver: Receiver, text: str, options: dict[str, Any]) -> None:
    handset = phone()
    sent = smsc.mo(handset, tenant.number, text, **options)
    if "part_octets" in options:
        assert sent.parts > 10

    call = _inbound(receiver, text)
    assert (call.param("From"), call.param("To"), call.param("SmsStatus")) == (handset, tenant.number, "received")
    assert call.param("AccountSid") == tenant.sid
    assert RequestValidator(tenant.token).validate(receiver.url("/sms"), call.params,
                                                   call.headers["x-twilio-signature"])
    assert eventually(lambda: all(d.status == ESME_ROK for d in smsc.deliveries()))  # every part acknowledged
    [message] = tenant.client.messages.list(from_=handset)
    assert (message.direction, message.body, message.status) == ("inbound", text, "received")


def test_a_twiml_reply_goes_back_out_through_the_smsc(smsc: Smsc, tenant: Tenant, receiver: Receiver) -> None:
    receiver.answer("/sms", Answer(body="<Response><Message>Thanks, got it</Message></Response>"))
    handset = phone()
    smsc.mo(handset, tenant.number, "are you there?")

    [reply] = accepted_to(smsc, handset)
    assert (reply.source, reply.text) == (tenant.number[1:], "Thanks, got it")


def test_stop_opts_the_handset_out(smsc: Smsc, tenant: Tenant, receiver: Receiver) -> None:
    handset = phone()
    smsc.mo(handset, tenant.number, "STOP")

    [auto_reply] = accepted_to(smsc, handset)  # the opt-out confirmation goes out through the SMSC
    assert auto_reply.source == tenant.number[1:] and "unsubscribed" in (auto_reply.text or "")
    with pytest.raises(TwilioRestException) as refused:
        tenant.client.messages.create(to=handset, from_=tenant.number, body="still there?")
    assert (refused.value.status, refused.value.code) == (400, 21610)
    time.sleep(0.5)
    assert len([submit for submit in smsc.submits() if submit.destination == handset[1:]]) == 1
