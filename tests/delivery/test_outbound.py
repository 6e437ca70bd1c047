"""Outbound lifecycle: queued → sent → delivered | undelivered, status callbacks signed as Twilio signs them."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from loft.messages.validation import MAGIC_VALID_FROM
from tests.conftest import make_server
from tests.support import clients
from tests.support.receiver import Receiver
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually


def test_send_reaches_the_handset_and_signed_callbacks_follow(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    callback = receiver.url("/status")
    message = client.messages.create(to="+15558670001", from_=sender, body="Hello handset",
                                     status_callback=callback)
    eventually(lambda: status_of(client, message.sid) == "delivered")
    inbox = sim.inbox("+15558670001")
    assert [(m["sid"], m["from"], m["body"]) for m in inbox] == [(message.sid, sender, "Hello handset")]

    calls = receiver.wait_for(lambda rs: len([r for r in rs if r.path == "/status"]) >= 2)
    statuses = [r.param("MessageStatus") for r in calls]
    # Callbacks announce changes after creation: a message created `queued` is not announced as `queued`.
    assert statuses == ["sent", "delivered"]
    validator = RequestValidator(account[1])
    tokens = set()
    for call in calls:
        assert call.method == "POST"
        assert call.headers["content-type"] == "application/x-www-form-urlencoded"
        assert validator.validate(callback, call.params, call.headers["x-twilio-signature"])
        assert call.param("MessageSid") == call.param("SmsSid") == message.sid
        assert call.param("SmsStatus") == call.param("MessageStatus")
        assert call.param("AccountSid") == account[0]
        assert call.param("From") == sender and call.param("To") == "+15558670001"
        assert call.param("ApiVersion") == "2010-04-01"
        tokens.add(call.headers["i-twilio-idempotency-token"])
    assert len(tokens) == 2  # one per event
    delivered = calls[-1]
    raw_date = delivered.param("RawDlrDoneDate")
    assert raw_date is not None and len(raw_date) == 10 and raw_date.isdigit()

    fetched = client.messages(message.sid).fetch()
    assert fetched.date_sent is not None
    assert fetched.price == "-0.00790" and fetched.price_unit == "USD"
    assert fetched.error_code is None


@pytest.mark.parametrize(
    ("behavior", "code"),
    [
        pytest.param("unreachable", 30003, id="unreachable-30003"),
        pytest.param("unknown", 30005, id="unknown-30005"),
        pytest.param("landline", 30006, id="landline-30006"),
        pytest.param("filtered", 30007, id="filtered-30007"),
    ],
)
def test_handset_behaviour_gives_twilios_error(
    client: Client, sender: str, sim: Sim, receiver: Receiver, behavior: str, code: int
) -> None:
    handset = f"+1555867{code % 10000:04d}"
    sim.configure(handset, Behavior=behavior)
    message = client.messages.create(to=handset, from_=sender, body="hi", status_callback=receiver.url("/s"))
    eventually(lambda: status_of(client, message.sid) == "undelivered")
    fetched = client.messages(message.sid).fetch()
    assert fetched.error_code == code and fetched.error_message
    assert sim.inbox(handset) == []
    calls = receiver.wait_for(lambda rs: any(r.param("MessageStatus") == "undelivered" for r in rs))
    final = [r for r in calls if r.param("MessageStatus") == "undelivered"][0]
    assert final.param("ErrorCode") == str(code)


def test_no_receipt_handset_leaves_the_message_sent(client: Client, sender: str, sim: Sim) -> None:
    sim.configure("+15558670404", Behavior="no-receipt")
    message = client.messages.create(to="+15558670404", from_=sender, body="hi")
    eventually(lambda: sim.inbox("+15558670404"))
    eventually(lambda: status_of(client, message.sid) == "sent")


def test_receipt_delay_holds_the_message_in_sent(client: Client, sender: str, sim: Sim) -> None:
    sim.configure("+15558670405", ReceiptDelayMs=1500)
    message = client.messages.create(to="+15558670405", from_=sender, body="slow carrier")
    eventually(lambda: status_of(client, message.sid) == "sent")
    eventually(lambda: status_of(client, message.sid) == "delivered")


def test_application_message_status_callback_is_used_without_status_callback(
    client: Client, sender: str, receiver: Receiver
) -> None:
    app = client.applications.create(friendly_name="bot", message_status_callback=receiver.url("/app-status"))
    message = client.messages.create(to="+15558670407", from_=sender, body="hi", application_sid=app.sid)
    calls = receiver.wait_for(lambda rs: len([r for r in rs if r.path == "/app-status"]) >= 2)
    assert [r.param("MessageStatus") for r in calls] == ["sent", "delivered"]
    assert all(r.param("MessageSid") == message.sid for r in calls)


def test_status_callback_wins_over_the_application(client: Client, sender: str, receiver: Receiver) -> None:
    app = client.applications.create(message_status_callback=receiver.url("/app-status"))
    client.messages.create(to="+15558670408", from_=sender, body="hi", application_sid=app.sid,
                           status_callback=receiver.url("/own"))
    receiver.wait_for(lambda rs: len([r for r in rs if r.path == "/own"]) >= 2)
    assert receiver.to("/app-status") == []


def test_webhook_attempts_are_recorded(client: Client, account: tuple[str, str], sender: str, sim: Sim,
                                       receiver: Receiver) -> None:
    message = client.messages.create(to="+15558670409", from_=sender, body="hi",
                                     status_callback=receiver.url("/status"))
    receiver.wait_for(lambda rs: len(rs) >= 2)
    attempts = eventually(lambda: (a := sim.webhooks(account[0], message.sid)) and len(a) >= 2 and a)
    assert {a["request_params"]["MessageStatus"] for a in attempts} == {"sent", "delivered"}
    assert all(a["status_code"] == 200 and a["kind"] == "status_callback" for a in attempts)
    assert all(a["latency_ms"] >= 0 and a["url"] == receiver.url("/status") for a in attempts)


def test_opted_out_recipient_is_refused_with_21610_until_start(
    client: Client, sender: str, sim: Sim
) -> None:
    handset = "+15558670410"
    sim.text(handset, sender, "stop")
    reply = eventually(lambda: sim.inbox(handset))
    assert reply[0]["body"].startswith("You have successfully been unsubscribed")
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=handset, from_=sender, body="promo")
    assert refused.value.code == 21610
    sim.text(handset, sender, "START")
    eventually(lambda: len(sim.inbox(handset)) == 2)
    assert sim.inbox(handset)[0]["body"].startswith("You have successfully been re-subscribed")
    message = client.messages.create(to=handset, from_=sender, body="welcome back")
    eventually(lambda: status_of(client, message.sid) == "delivered")


def test_a_callback_job_recorded_before_jobs_carried_from_and_to_is_still_sent(
        tmp_path: Path, receiver: Receiver) -> None:
    """Jobs already in the outbox when Loft is upgraded (their payload has no From/To) read the message instead."""
    server = make_server(tmp_path)
    with server.running():
        main = clients.sdk(server.base_url, server.account_sid, server.auth_token)
        message = main.messages.create(to="+15558670777", from_=MAGIC_VALID_FROM, body="before the upgrade")
        eventually(lambda: status_of(main, message.sid) == "delivered")
        callback = receiver.url("/legacy")
        payload = {"status": "delivered", "error_code": None, "url": callback, "method": "POST",
                   "raw_dlr_done_date": None, "token": "legacy-token"}
        with sqlite3.connect(tmp_path / "loft.db") as db:  # as the previous version recorded it
            db.execute("INSERT INTO outbox (kind, subject_sid, account_sid, payload, available_at, attempts, "
                       "date_created) VALUES ('callback', ?, ?, ?, '2000-01-01 00:00:00.000000', 0, "
                       "'2000-01-01 00:00:00.000000')", (message.sid, server.account_sid, json.dumps(payload)))
        calls = receiver.wait_for(lambda rs: any(r.path == "/legacy" for r in rs))
        call = [r for r in calls if r.path == "/legacy"][0]
    assert call.param("From") == MAGIC_VALID_FROM and call.param("To") == "+15558670777"
    assert call.param("MessageSid") == message.sid and call.param("MessageStatus") == "delivered"
    assert RequestValidator(server.auth_token).validate(callback, call.params, call.headers["x-twilio-signature"])


def test_a_burst_of_sends_to_handsets_of_every_behaviour_ends_as_each_one_says(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    """Sends created at once are handed to the carrier together (a few statements for all of them): each must
    still end as its own handset says, with its own callbacks, in order."""
    behaviours = {"deliver": ("delivered", None), "unreachable": ("undelivered", 30003),
                  "no-receipt": ("sent", None), "delayed": ("delivered", None)}
    handsets: dict[str, str] = {}
    for index, behaviour in enumerate(behaviours):
        number = f"+155586715{index:02d}"
        handsets[number] = behaviour
        if behaviour == "delayed":
            sim.configure(number, ReceiptDelayMs=700)
        elif behaviour != "deliver":
            sim.configure(number, Behavior=behaviour)
    application = client.applications.create(message_status_callback=receiver.url("/app"))
    url = f"{client.api.base_url}/2010-04-01/Accounts/{account[0]}/Messages.json"

    def create(i: int) -> tuple[int, str, str]:
        number = list(handsets)[i % len(handsets)]
        form = {"To": number, "From": sender, "Body": f"burst {i}"}
        if i % 3 == 0:
            form["StatusCallback"] = receiver.url(f"/own/{i}")
        elif i % 3 == 1:
            form["ApplicationSid"] = application.sid
        with httpx.Client(auth=account, timeout=30) as http:
            response = http.post(url, data=form)
        assert response.status_code == 201, response.text
        return i, number, response.json()["sid"]

    with ThreadPoolExecutor(16) as pool:
        created = list(pool.map(create, range(64)))
    for i, number, sid in created:
        status, code = behaviours[handsets[number]]
        eventually(lambda: status_of(client, sid) == status, timeout=30)
        fetched = client.messages(sid).fetch()
        assert fetched.error_code == code, (i, handsets[number])
        received = [m["sid"] for m in sim.inbox(number)]
        assert (sid in received) == (handsets[number] != "unreachable")
        if i % 3 == 2:
            continue  # no callback at all
        path = f"/own/{i}" if i % 3 == 0 else "/app"
        expected = ["sent"] if status == "sent" else ["sent", status]
        calls = receiver.wait_for(lambda rs: len([r for r in rs if r.path == path
                                                  and r.param("MessageSid") == sid]) >= len(expected))
        got = [r for r in calls if r.path == path and r.param("MessageSid") == sid]
        assert [r.param("MessageStatus") for r in got] == expected, (i, handsets[number])
        assert (got[-1].param("ErrorCode") or None) == (str(code) if code else None)
    assert sorted(len(sim.inbox(number)) for number in handsets) == [0, 16, 16, 16]
