"""Sends through a Messaging Service on servers of their own: paced from the sender chosen for them, valid for
the shorter of the message's and the service's validity periods (the simulator's clock moves past them), and
chosen, announced and handed over exactly once by two ``loft worker`` processes sharing the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from twilio.rest import Client

from tests.support import clients
from tests.support.receiver import Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually


@contextmanager
def _service(server: LoftServer) -> Iterator[tuple[Client, Sim, str, str]]:
    """The main account's SDK client and simulator API, a service of its, and the one number of its pool."""
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    number = client.incoming_phone_numbers.create(area_code="415")
    service = client.messaging.v1.services.create(friendly_name="paced")
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    main = Sim(server.base_url, (server.account_sid, server.auth_token))
    try:
        yield client, main, service.sid, number.phone_number
    finally:
        main.http.close()


def test_a_send_is_paced_from_its_sender_and_valid_for_the_shorter_period(own: LoftServer) -> None:
    own.extra_env = {"LOFT_SENDER_MPS": json.dumps({"local": 0.001})}  # one segment per 1000 s
    with own.running(), _service(own) as (client, main, service_sid, number):
        first = client.messages.create(to="+15558673001", messaging_service_sid=service_sid, body="now").sid
        brief = client.messages.create(to="+15558673001", messaging_service_sid=service_sid, body="at 1000 s",
                                       validity_period=600).sid
        client.messaging.v1.services(service_sid).update(validity_period=600)
        by_service = client.messages.create(to="+15558673001", messaging_service_sid=service_sid,
                                            body="at 2000 s").sid
        client.messaging.v1.services(service_sid).update(validity_period=36000)
        patient = client.messages.create(to="+15558673001", messaging_service_sid=service_sid,
                                         body="at 3000 s").sid
        eventually(lambda: status_of(client, first) == "delivered")
        eventually(lambda: all(status_of(client, sid) == "queued" for sid in (brief, by_service, patient)))
        assert {client.messages(sid).fetch().from_ for sid in (brief, by_service, patient)} == {number}

        main.advance(3000)

        eventually(lambda: status_of(client, patient) == "delivered", timeout=5)
        for sid in (brief, by_service):
            failed = client.messages(sid).fetch()
            assert (failed.status, failed.error_code) == ("failed", 30036)


COUNT = 60


def test_two_workers_choose_announce_and_hand_over_each_message_once(request: pytest.FixtureRequest,
                                                                     own: LoftServer, receiver: Receiver) -> None:
    own.extra_env = {"LOFT_WORKERS": "false", "LOFT_JOB_LEASE_SECONDS": "3"}
    with own.running(), _service(own) as (client, main, service_sid, number):
        client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/status"))
        sids = [client.messages.create(to=f"+1555867{i:04d}", messaging_service_sid=service_sid, body=f"w{i}").sid
                for i in range(COUNT)]
        assert {status_of(client, sid) for sid in sids[:3]} == {"accepted"}  # no worker yet
        workers = [own.spawn("worker"), own.spawn("worker")]
        try:
            receiver.wait_for(lambda got: len([r for r in got if r.param("MessageStatus") == "delivered"]) >= COUNT,
                              timeout=90)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(15)
        for i, sid in enumerate(sids):
            assert [m["sid"] for m in main.inbox(f"+1555867{i:04d}")] == [sid]
            message = client.messages(sid).fetch()
            assert (message.status, message.from_) == ("delivered", number)
        statuses: dict[str, list[str]] = {}
        for received in receiver.to("/status"):
            assert received.param("MessagingServiceSid") == service_sid
            statuses.setdefault(str(received.param("MessageSid")), []).append(str(received.param("MessageStatus")))
        assert statuses == {sid: ["queued", "sent", "delivered"] for sid in sids}
