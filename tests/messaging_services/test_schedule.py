"""Scheduled messages (``ScheduleType=fixed`` + ``SendAt``, through a Messaging Service): ``scheduled`` at once, sent
when Loft's clock reaches ``SendAt`` (the simulator's clock moves it), once, even across a restart; canceled with
``Status=canceled`` while scheduled only (30409 otherwise); Twilio's codes for a bad schedule (Loft's window: 300 s
to 35 days ahead)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.rest import Client

from loft.messages import service as message_service
from tests.conftest import module_server
from tests.messaging_services.conftest import refused
from tests.support import clients
from tests.support.receiver import Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

HOUR = 3600


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loft(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """This module's own Loft, in place of the session's: its tests move its clock. Each compares its clock
    before and after what it does, never with a fixed offset."""
    with module_server(request, tmp_path_factory, "schedule") as server:
        yield server


def _now(sim: Sim) -> datetime:
    """Loft's clock."""
    return datetime.strptime(sim.clock()["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _pooled(client: Client, area_code: str = "415") -> tuple[str, str]:
    """A new service of the client's account with one number in its pool: (service SID, the number)."""
    number = client.incoming_phone_numbers.create(area_code=area_code)
    service = client.messaging.v1.services.create(friendly_name="scheduling")
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    return service.sid, number.phone_number


@pytest.fixture
def pooled(client: Client) -> tuple[str, str]:
    return _pooled(client)


@pytest.mark.parametrize(("extra", "code"), [
    pytest.param({"send_at": "+1h"}, 35119, id="send-at-without-schedule-type-35119"),
    pytest.param({"schedule_type": "fixed"}, 35111, id="schedule-type-without-send-at-35111"),
    pytest.param({"schedule_type": "daily", "send_at": "+1h"}, 35126, id="schedule-type-not-fixed-35126"),
    pytest.param({"schedule_type": "fixed", "send_at": "+60s"}, 35114, id="too-soon-35114"),
    pytest.param({"schedule_type": "fixed", "send_at": "+36d"}, 35115, id="too-far-35115"),
    pytest.param({"schedule_type": "fixed", "send_at": "tomorrow"}, 35114, id="not-iso-8601-35114"),
    pytest.param({"schedule_type": "fixed", "send_at": "+1h", "service": None}, 35118,
                 id="without-a-service-35118"),
])
def test_a_bad_schedule_is_refused_with_twilio_s_code(client: Client, pooled: tuple[str, str], main_sim: Sim,
                                                      extra: dict[str, Any], code: int) -> None:
    service_sid, number = pooled
    now = _now(main_sim)
    offsets = {"+1h": timedelta(hours=1), "+60s": timedelta(seconds=60), "+36d": timedelta(days=36)}
    parameters: dict[str, Any] = {"to": "+15558674001", "body": "later"}
    if "send_at" in extra:
        given = extra["send_at"]
        parameters["send_at"] = now + offsets[given] if given in offsets else given
    if "schedule_type" in extra:
        parameters["schedule_type"] = extra["schedule_type"]
    if "service" in extra:
        parameters["from_"] = number
    else:
        parameters["messaging_service_sid"] = service_sid
    answer = refused(lambda: client.messages.create(**parameters))
    assert (answer.status, answer.code) == (400, code)
    assert client.messages.list() == []


def test_the_window_s_edges_are_accepted(client: Client, pooled: tuple[str, str], main_sim: Sim) -> None:
    service_sid, _ = pooled
    now = _now(main_sim)
    for ahead in (timedelta(seconds=310), timedelta(days=35) - timedelta(seconds=10)):
        created = client.messages.create(to="+15558674002", messaging_service_sid=service_sid, body="edge",
                                         schedule_type="fixed", send_at=now + ahead)
        assert created.status == "scheduled"
        client.messages(created.sid).update(status="canceled")


def test_a_scheduled_message_leaves_when_the_clock_reaches_send_at(client: Client, pooled: tuple[str, str],
                                                                   main_sim: Sim, receiver: Receiver) -> None:
    service_sid, number = pooled
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/status"))
    send_at = _now(main_sim) + timedelta(hours=1)

    created = client.messages.create(to="+15558674003", messaging_service_sid=service_sid, body="in an hour",
                                     schedule_type="fixed", send_at=send_at)

    assert (created.status, created.from_, created.messaging_service_sid) == ("scheduled", None, service_sid)
    assert status_of(client, created.sid) == "scheduled"
    assert main_sim.inbox("+15558674003") == []
    main_sim.advance(HOUR)
    eventually(lambda: status_of(client, created.sid) == "delivered", timeout=10)
    assert client.messages(created.sid).fetch().from_ == number
    assert [m["sid"] for m in main_sim.inbox("+15558674003")] == [created.sid]
    got = receiver.wait_for(lambda requests: len(requests) >= 3)
    assert [(r.param("MessageStatus"), r.param("MessagingServiceSid")) for r in got] == [
        (status, service_sid) for status in ("queued", "sent", "delivered")]


def test_a_scheduled_message_with_a_from_keeps_it(client: Client, pooled: tuple[str, str], main_sim: Sim) -> None:
    service_sid, _ = pooled
    other = client.incoming_phone_numbers.create(area_code="720").phone_number
    created = client.messages.create(to="+15558674004", messaging_service_sid=service_sid, from_=other,
                                     body="from mine", schedule_type="fixed",
                                     send_at=_now(main_sim) + timedelta(minutes=10))
    assert (created.status, created.from_) == ("scheduled", other)
    main_sim.advance(600)
    eventually(lambda: status_of(client, created.sid) == "delivered", timeout=10)
    assert client.messages(created.sid).fetch().from_ == other


def test_canceling_a_scheduled_message_keeps_it_from_leaving(client: Client, pooled: tuple[str, str],
                                                             main_sim: Sim, receiver: Receiver) -> None:
    service_sid, _ = pooled
    client.messaging.v1.services(service_sid).update(status_callback=receiver.url("/status"))
    created = client.messages.create(to="+15558674005", messaging_service_sid=service_sid, body="never",
                                     schedule_type="fixed", send_at=_now(main_sim) + timedelta(minutes=30))

    canceled = client.messages(created.sid).update(status="canceled")

    assert canceled.status == "canceled"
    got = receiver.wait_for(lambda requests: bool(requests))
    assert [(r.param("MessageStatus"), r.param("MessagingServiceSid")) for r in got] == [("canceled", service_sid)]
    main_sim.advance(1800)
    late = client.messages.create(to="+15558674005", messaging_service_sid=service_sid, body="after")
    eventually(lambda: status_of(client, late.sid) == "delivered")  # the worker has passed the canceled one's time
    assert status_of(client, created.sid) == "canceled"
    assert [m["sid"] for m in main_sim.inbox("+15558674005")] == [late.sid]
    again = refused(lambda: client.messages(created.sid).update(status="canceled"))
    assert (again.status, again.code) == (400, message_service.NOT_SCHEDULED)


def test_only_a_scheduled_message_can_be_canceled(client: Client, pooled: tuple[str, str]) -> None:
    service_sid, number = pooled
    sent = client.messages.create(to="+15558674006", messaging_service_sid=service_sid, body="now")
    eventually(lambda: status_of(client, sent.sid) == "delivered")
    plain = client.messages.create(to="+15558674006", from_=number, body="plain")
    for sid in (sent.sid, plain.sid):
        answer = refused(lambda: client.messages(sid).update(status="canceled"))
        assert (answer.status, answer.code) == (400, 30409)
    assert status_of(client, sent.sid) == "delivered"


@contextmanager
def _main(server: LoftServer) -> Iterator[tuple[Client, Sim]]:
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    main = Sim(server.base_url, (server.account_sid, server.auth_token))
    try:
        yield client, main
    finally:
        main.http.close()


def test_scheduled_messages_survive_a_restart_and_leave_once(own: LoftServer) -> None:
    with own.running():
        with _main(own) as (client, main):
            service_sid, number = _pooled(client)
            send_at = _now(main) + timedelta(hours=2)
            sids = [client.messages.create(to=f"+155586750{i:02d}", messaging_service_sid=service_sid,
                                           body=f"later {i}", schedule_type="fixed", send_at=send_at).sid
                    for i in range(5)]
        own.stop()
        own.start()
        with _main(own) as (client, main):
            assert {status_of(client, sid) for sid in sids} == {"scheduled"}
            main.advance(2 * HOUR)
            eventually(lambda: all(status_of(client, sid) == "delivered" for sid in sids), timeout=10)
            for i, sid in enumerate(sids):
                assert [m["sid"] for m in main.inbox(f"+155586750{i:02d}")] == [sid]
                assert client.messages(sid).fetch().from_ == number
