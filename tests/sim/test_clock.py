"""The simulator's clock (``/sim/v1/Clock``, loft/sim/clock.py): an advance moves Loft's "now" for every process of
a deployment, for good (a restart keeps it), and what it makes due runs at once: a handset's delayed delivery
report, a paced send (which fails 30036 past its validity). Only the main account's auth token moves it; job
leases stay on the wall clock."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from loft.db.engine import open_database
from loft.delivery import outbox
from loft.kit import dates
from loft.sim import clock
from tests.conftest import module_server
from tests.support import clients, openapi
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loft(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """This module's own Loft, in place of the session's (which ``account``, ``client``, ``sender`` and ``sim``
    use). Tests here compare its clock before and after what they do, never with a fixed offset."""
    with module_server(request, tmp_path_factory, "clock") as server:
        yield server


@contextmanager
def _main(server: LoftServer) -> Iterator[tuple[Client, Sim, str]]:
    """The main account's SDK client and simulator API on ``server``, and a number it owns."""
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    number: str = client.incoming_phone_numbers.create(area_code="415").phone_number
    main = Sim(server.base_url, (server.account_sid, server.auth_token))
    try:
        yield client, main, number
    finally:
        main.http.close()


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _ahead_of_the_wall_clock(reading: dict[str, Any]) -> float:
    return (_instant(reading["now"]) - datetime.now(UTC)).total_seconds()


def test_an_advance_moves_the_dates_of_new_messages(client: Client, sender: str, sim: Sim, main_sim: Sim) -> None:
    before = client.messages.create(to="+15558671001", from_=sender, body="today")
    was = sim.clock()["offset_seconds"]

    moved = main_sim.advance(DAY)

    assert moved["offset_seconds"] == was + DAY
    assert abs(_ahead_of_the_wall_clock(moved) - moved["offset_seconds"]) < 5
    assert sim.clock()["offset_seconds"] == moved["offset_seconds"]  # any account's credentials read it
    after = client.messages.create(to="+15558671001", from_=sender, body="tomorrow")
    assert after.date_created is not None and before.date_created is not None
    assert DAY <= (after.date_created - before.date_created).total_seconds() < DAY + 30
    delivered = eventually(lambda: client.messages(after.sid).fetch().date_sent)
    assert delivered >= after.date_created


def test_a_delayed_delivery_report_comes_once_the_clock_passes_it(client: Client, sender: str, sim: Sim,
                                                                   main_sim: Sim) -> None:
    sim.configure("+15558671002", ReceiptDelayMs=HOUR * 1000)
    sid = client.messages.create(to="+15558671002", from_=sender, body="in an hour").sid
    eventually(lambda: status_of(client, sid) == "sent")
    time.sleep(1)
    assert status_of(client, sid) == "sent"  # its report is an hour away

    main_sim.advance(HOUR)

    eventually(lambda: status_of(client, sid) == "delivered", timeout=5)


@pytest.mark.parametrize(("who", "status"), [
    pytest.param("subaccount", 403, id="subaccount-auth-token-403"),
    pytest.param("main-key", 403, id="main-account-api-key-403"),
    pytest.param("subaccount-key", 403, id="subaccount-api-key-403"),
    pytest.param("wrong-token", 401, id="wrong-token-401"),
    pytest.param("nobody", 401, id="no-credentials-401"),
])
def test_only_the_main_accounts_auth_token_moves_the_clock(loft: LoftServer, main_client: Client, client: Client,
                                                           account: tuple[str, str], main_sim: Sim, who: str,
                                                           status: int) -> None:
    credentials: tuple[str, str] | None = None
    if who == "subaccount":
        credentials = account
    elif who.endswith("-key"):
        key = (main_client if who == "main-key" else client).new_keys.create(friendly_name="clock")
        credentials = (key.sid, key.secret)
    elif who == "wrong-token":
        credentials = (loft.account_sid, "0" * 32)
    was = main_sim.clock()["offset_seconds"]
    with httpx.Client(base_url=loft.base_url, auth=credentials, timeout=30) as http:
        refused = http.post("/sim/v1/Clock", data={"AdvanceSeconds": str(DAY)})
        assert refused.status_code == status, refused.text
        assert refused.json()["code"] == 20003
        openapi.check_own("/sim/v1/Clock", "POST", status, refused.json())
        read = http.get("/sim/v1/Clock")
        assert read.status_code == (200 if status == 403 else 401)  # valid credentials read it
    assert main_sim.clock()["offset_seconds"] == was


@pytest.mark.parametrize("value", [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("0", id="zero"),
    pytest.param("-60", id="negative"),
    pytest.param("1.5", id="not-whole-seconds"),
    pytest.param("an hour", id="not-a-number"),
    pytest.param(str(clock.MAX_ADVANCE + 1), id="more-than-ten-years"),
])
def test_a_bad_advance_is_refused_with_20001(main_sim: Sim, value: str | None) -> None:
    was = main_sim.clock()["offset_seconds"]
    refused = main_sim.http.post("/sim/v1/Clock", data={} if value is None else {"AdvanceSeconds": value})
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["code"] == 20001 and "AdvanceSeconds" in body["message"]
    openapi.check_own("/sim/v1/Clock", "POST", 400, body)
    assert main_sim.clock()["offset_seconds"] == was


def test_the_clock_goes_no_further_than_a_hundred_years_ahead(own: LoftServer) -> None:
    with own.running(), _main(own) as (_, main, _):
        for _ in range(clock.MAX_OFFSET // clock.MAX_ADVANCE):
            main.advance(clock.MAX_ADVANCE)
        assert main.clock()["offset_seconds"] == clock.MAX_OFFSET
        refused = main.http.post("/sim/v1/Clock", data={"AdvanceSeconds": "1"})
        assert refused.status_code == 400 and refused.json()["code"] == 20001, refused.text
        assert "AdvanceSeconds" in refused.json()["message"]
        assert main.clock()["offset_seconds"] == clock.MAX_OFFSET


def test_a_send_held_by_its_senders_pace_fails_with_30036_once_an_advance_outlasts_its_validity(
        own: LoftServer) -> None:
    own.extra_env = {"LOFT_SENDER_MPS": json.dumps({"local": 0.001})}  # one segment per 1000 s
    with own.running(), _main(own) as (client, main, sender):
        first = client.messages.create(to="+15558671003", from_=sender, body="now").sid
        brief = client.messages.create(to="+15558671003", from_=sender, body="at 1000 s", validity_period=600).sid
        patient = client.messages.create(to="+15558671003", from_=sender, body="at 2000 s").sid  # valid 10 hours
        eventually(lambda: status_of(client, first) == "delivered")
        assert status_of(client, brief) == status_of(client, patient) == "queued"

        main.advance(2000)

        eventually(lambda: status_of(client, brief) == "failed" and status_of(client, patient) == "delivered",
                   timeout=5)
        assert client.messages(brief).fetch().error_code == 30036


def test_every_process_uses_an_advance_once_it_is_answered(two_servers: tuple[LoftServer, LoftServer]) -> None:
    """``loft serve --processes 2`` (on SQLite: the server and one more API process of it; on PostgreSQL two
    servers on one database): a create through either process, once the advance through the other has
    answered, is dated by the new clock."""
    first, second = two_servers
    for moving, creating in ((first, second), (second, first)):
        with _main(creating) as (client, _, sender), _main(moving) as (_, main, _):
            before = client.messages.create(to="+15558671004", from_=sender, body="before")

            main.advance(DAY)

            after = client.messages.create(to="+15558671004", from_=sender, body="after")  # before any read there
            assert after.date_created is not None and before.date_created is not None
            assert DAY <= (after.date_created - before.date_created).total_seconds() < DAY + 30


def test_a_worker_process_runs_what_an_advance_made_due_at_once(own: LoftServer) -> None:
    """``loft serve --worker-processes 1``: the worker child takes the clock from the database (the server only
    wakes it, and its poll is far off), then claims the delivery report that fell due."""
    own.extra_env = {"LOFT_WORKER_PROCESSES": "1", "LOFT_WORKER_POLL_SECONDS": "120"}
    with own.running(), _main(own) as (client, main, sender):
        main.configure("+15558671005", ReceiptDelayMs=HOUR * 1000)
        sid = client.messages.create(to="+15558671005", from_=sender, body="in an hour").sid
        eventually(lambda: status_of(client, sid) == "sent")

        main.advance(HOUR)

        eventually(lambda: status_of(client, sid) == "delivered", timeout=5)


def test_the_clock_survives_a_restart(own: LoftServer) -> None:
    with own.running(), _main(own) as (_, main, _):
        main.advance(DAY)
    with own.running(), _main(own) as (client, main, sender):
        created = client.messages.create(to="+15558671006", from_=sender, body="after the restart").date_created
        assert created is not None
        assert abs((created - datetime.now(UTC)).total_seconds() - DAY) < 30
        assert main.clock()["offset_seconds"] == DAY


def test_an_advance_takes_no_claimed_job_from_its_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leases are by the wall clock: a job claimed for a minute stays its worker's when the clock jumps an hour,
    while a job due in that hour falls due."""
    monkeypatch.setattr(dates, "_ahead", timedelta(0))

    async def main() -> tuple[list[str], list[str]]:
        db = open_database(f"sqlite:///{tmp_path / 'loft.db'}")
        await db.migrate()
        try:
            async with db.write() as conn:
                await outbox.enqueue_rows(conn, [
                    outbox.NewJob(outbox.RECEIPT, "running", "AC1"),
                    outbox.NewJob(outbox.RECEIPT, "later", "AC1", at=dates.now() + timedelta(minutes=30))])
            async with db.write() as conn:
                first = await outbox.claim(conn, worker="one", limit=10, lease=timedelta(minutes=1), postgres=False)
            dates.move_ahead(HOUR)
            async with db.write() as conn:
                second = await outbox.claim(conn, worker="two", limit=10, lease=timedelta(minutes=1), postgres=False)
        finally:
            await db.dispose()
        return [job.subject_sid for job in first], [job.subject_sid for job in second]

    assert asyncio.run(main()) == (["running"], ["later"])
