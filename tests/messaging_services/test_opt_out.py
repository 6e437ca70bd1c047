"""Opt-outs in a Messaging Service, Twilio's scope: a STOP to any sender of a service's pool (a number, or an RCS
sender, ``rcs:<agent>``) opts the phone out of the whole service, a START to any of them back in. A send through
the service then fails 21610 whichever sender it chooses, a send from any sender of its pool is refused at create
(400, 21610); a number in no service keeps its own opt-outs, and a number that leaves the pool leaves the service's
behind. One opt-out for SMS and RCS: an RCS handset's STOP to the service's RCS sender stops its SMS too.

Handsets text Loft through the simulator (``/sim/v1``); the API side through the official SDK; on SQLite and
PostgreSQL (the session's servers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from loft.config import Settings
from loft.db.engine import open_database
from loft.delivery import send
from loft.kit import dates
from loft.messages import optout
from tests.messaging_services.conftest import refused
from tests.senders.conftest import agent, request
from tests.support.server import LoftServer
from tests.support.sim import Sim
from tests.support.waiting import eventually

FINAL = ("delivered", "undelivered", "failed")


def _pool(client: Client, service_sid: str, *numbers: Any) -> None:
    """Add ``numbers`` to the service's pool, in that order (the order the service chooses them in)."""
    for number in numbers:
        client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number.sid)


def _through(client: Client, service_sid: str, to: str) -> Any:
    """A send through the service to ``to``, once final."""
    sid = client.messages.create(to=to, messaging_service_sid=service_sid, body="through the service").sid
    return eventually(lambda: (message := client.messages(sid).fetch()).status in FINAL and message)


def _direct(client: Client, from_: str, to: str) -> tuple[int, int | None]:
    """A send from ``from_`` to ``to``: the HTTP status of its create, and the error code (None: created)."""
    try:
        client.messages.create(to=to, from_=from_, body="straight from the number")
    except TwilioRestException as exc:
        return exc.status, exc.code
    return 201, None


def _replied(sim: Sim, handset: str, word: str) -> dict[str, Any]:
    """The auto-reply the handset got last, once it has one that says ``word``."""
    inbox: list[dict[str, Any]] = eventually(lambda: [m for m in sim.inbox(handset) if word in m["body"]])
    return inbox[0]


def test_stop_to_one_pool_number_fails_a_send_through_the_service_from_another(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    b, a = buy(), buy()
    _pool(client, service_sid, b, a)  # the service chooses b, the first in its pool
    assert _through(client, service_sid, "+15558664002").from_ == b.phone_number

    sim.text("+15558664001", a.phone_number, "STOP")
    assert _replied(sim, "+15558664001", "unsubscribed")["from"] == a.phone_number  # from the number texted

    failed = _through(client, service_sid, "+15558664001")
    assert (failed.status, failed.error_code) == ("failed", 21610)
    assert _through(client, service_sid, "+15558664002").status == "delivered"  # another phone still gets them


def test_stop_to_one_pool_number_refuses_direct_sends_from_every_pool_number_not_from_others(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    a, b, outside = buy(), buy(), buy()
    _pool(client, service_sid, a, b)
    sim.text("+15558664011", a.phone_number, "unsubscribe")

    assert _direct(client, a.phone_number, "+15558664011") == (400, 21610)
    assert _direct(client, b.phone_number, "+15558664011") == (400, 21610)
    answer = refused(lambda: client.messages.create(to="+15558664011", from_=b.phone_number,
                                                    messaging_service_sid=service_sid, body="named sender"))
    assert (answer.status, answer.code) == (400, 21610)
    assert _direct(client, outside.phone_number, "+15558664011") == (201, None)  # not the service's
    assert _direct(client, b.phone_number, "+15558664012") == (201, None)


def test_start_to_another_pool_number_opts_back_in_to_the_whole_service(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    a, b = buy(), buy()
    _pool(client, service_sid, a, b)
    sim.text("+15558664021", a.phone_number, "STOP")
    assert _direct(client, a.phone_number, "+15558664021") == (400, 21610)

    sim.text("+15558664021", b.phone_number, "start")
    assert _replied(sim, "+15558664021", "re-subscribed")["from"] == b.phone_number

    assert _direct(client, a.phone_number, "+15558664021") == (201, None)
    assert _direct(client, b.phone_number, "+15558664021") == (201, None)
    assert _through(client, service_sid, "+15558664021").status == "delivered"


def test_a_number_in_no_service_keeps_its_opt_outs_to_itself(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    chosen, pooled, alone, other = buy(), buy(), buy(), buy()
    _pool(client, service_sid, chosen, pooled)
    sim.text("+15558664031", alone.phone_number, "STOP")

    assert _direct(client, alone.phone_number, "+15558664031") == (400, 21610)
    assert _direct(client, other.phone_number, "+15558664031") == (201, None)
    assert _through(client, service_sid, "+15558664031").status == "delivered"
    # … while a STOP to a pool's number is the service's (the send through it chooses another number), and the
    # number alone is not blocked by it.
    sim.text("+15558664032", pooled.phone_number, "STOP")
    assert _through(client, service_sid, "+15558664032").error_code == 21610
    assert _direct(client, alone.phone_number, "+15558664032") == (201, None)


def test_a_number_taken_out_of_the_pool_leaves_the_service_s_opt_outs_behind(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    a, b = buy(), buy()
    _pool(client, service_sid, a, b)
    sim.text("+15558664041", a.phone_number, "STOP")
    assert _direct(client, b.phone_number, "+15558664041") == (400, 21610)

    client.messaging.v1.services(service_sid).phone_numbers(b.sid).delete()

    assert _direct(client, b.phone_number, "+15558664041") == (201, None)
    assert _direct(client, a.phone_number, "+15558664041") == (400, 21610)  # still in the pool


def _online_rcs_sender(client: Client, service_sid: str | None) -> str:
    """A new RCS sender of the account, once ``ONLINE``, in the service's pool (None: in none); its ``rcs:`` ID."""
    sender = client.messaging.v2.channels_senders.create(request({"sender_id": agent()}))
    eventually(lambda: client.messaging.v2.channels_senders(sender.sid).fetch().status == "ONLINE", timeout=10)
    if service_sid is not None:
        client.messaging.v1.services(service_sid).channel_senders.create(sid=sender.sid)
    return str(sender.sender_id)


def test_stop_over_rcs_to_the_service_s_rcs_sender_fails_its_sms_too(
        client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    number = buy()
    _pool(client, service_sid, number)
    sender_id = _online_rcs_sender(client, service_sid)
    sim.configure("+15558664051", Rcs="true")

    stop = sim.text("+15558664051", sender_id, "STOP")
    fetched = client.messages(stop["sid"]).fetch()
    assert (fetched.from_, fetched.to, fetched.messaging_service_sid) == (
        "rcs:+15558664051", sender_id, service_sid)
    reply = _replied(sim, "+15558664051", "unsubscribed")
    assert (reply["from"], reply["channel"]) == (sender_id, "rcs")  # answered over RCS, by the sender texted

    failed = _through(client, service_sid, "+15558664051")
    assert (failed.status, failed.error_code) == ("failed", 21610)
    assert _direct(client, number.phone_number, "+15558664051") == (400, 21610)

    sim.text("+15558664051", sender_id, "UNSTOP")
    assert _direct(client, number.phone_number, "+15558664051") == (201, None)


def test_stop_over_rcs_to_a_sender_in_no_service_is_answered_and_stops_no_number(
        client: Client, buy: Callable[..., Any], sim: Sim) -> None:
    number = buy()
    sender_id = _online_rcs_sender(client, None)
    sim.configure("+15558664061", Rcs="true")
    sim.text("+15558664061", sender_id, "stop")
    assert _replied(sim, "+15558664061", "unsubscribed")["from"] == sender_id
    assert _direct(client, number.phone_number, "+15558664061") == (201, None)


def _service_opt_outs(loft: LoftServer, service_sid: str, phone: str) -> set[optout.Send]:
    """The service's opt-out of ``phone``, read with Loft's own function."""
    settings = Settings(data_dir=loft.data_dir, database_url=loft.database_url)

    async def main() -> set[optout.Send]:
        db = open_database(settings.resolved_database_url)
        try:
            async with db.read() as conn:
                return await optout.opted_out(conn, [(service_sid, phone, None)])
        finally:
            await db.dispose()

    return asyncio.run(main())


def test_a_deleted_service_s_opt_outs_go_with_it(
        loft: LoftServer, client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    a = buy()
    _pool(client, service_sid, a)
    sim.text("+15558664071", a.phone_number, "STOP")
    assert _service_opt_outs(loft, service_sid, "+15558664071") == {(service_sid, "+15558664071", None)}

    client.messaging.v1.services(service_sid).delete()

    assert _service_opt_outs(loft, service_sid, "+15558664071") == set()
    assert _direct(client, a.phone_number, "+15558664071") == (201, None)


def test_a_sender_s_send_to_a_phone_that_left_its_service_leaves_when_it_goes_through_no_service(
        loft: LoftServer, client: Client, service_sid: str, buy: Callable[..., Any], sim: Sim) -> None:
    """At send time (a STOP may come between a create and its send), one batch holds a message from a sender through
    the service the phone opted out of, and one from the same sender to the same phone through no service (an
    alphanumeric sender, which no pool's opt-out covers): only the first is refused."""
    a = buy()
    _pool(client, service_sid, a)
    sim.text("+15558664081", a.phone_number, "STOP")
    settings = Settings(data_dir=loft.data_dir, database_url=loft.database_url)

    def message(service: str | None) -> Any:
        return SimpleNamespace(from_addr="LOFTALPHA", to_addr="+15558664081", messaging_service_sid=service,
                               status="queued", options={}, date_created=dates.now(), validity_period=36000)

    through, direct = message(service_sid), message(None)

    async def main() -> list[int | None]:
        db = open_database(settings.resolved_database_url)
        try:
            async with db.read() as conn:
                opted_out = await send._opted_out(conn, [through, direct])
        finally:
            await db.dispose()
        active = SimpleNamespace(status="active")
        return [send._refused(through, active, opted_out), send._refused(direct, active, opted_out)]  # type: ignore[arg-type]

    assert asyncio.run(main()) == [21610, None]
