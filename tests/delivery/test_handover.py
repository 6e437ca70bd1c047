"""Sends handed to the simulator by their create, in its transaction, when the process's worker has room: no
job of their own, their status callbacks recorded already claimed by that worker (a lease) and run by it with
no claim, given back when the server stops before starting them, taken over by another worker when the lease
runs out; a send created while the worker has no room waits in the outbox.

The server's worker gets one slot (``LOFT_WORKER_CONCURRENCY=1``), held for seconds by a status callback to
a slow receiver, so that the callbacks of a send handed over meanwhile wait in memory where the tests can look
at them.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import server_of_its_own
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually

SLOW = 6.0  # seconds the receiver takes to answer the callback that holds the worker's only slot


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_WORKER_CONCURRENCY="1", LOFT_JOB_LEASE_SECONDS="2")
    with server.running():
        yield server


def _jobs(server: LoftServer, kind: str = "send") -> dict[str, dict[str, Any]]:
    """The jobs of ``kind`` in the outbox, by message SID, as another process reads them."""
    query = f"SELECT subject_sid, claimed_by, attempts FROM outbox WHERE kind = '{kind}'"
    url = server.database_url
    if url is None:
        with sqlite3.connect(server.data_dir / "loft.db") as db:
            rows = db.execute(query).fetchall()
    else:
        async def read() -> list[Any]:
            connection = await asyncpg.connect(url.replace("+asyncpg", ""))
            try:
                return list(await connection.fetch(query))
            finally:
                await connection.close()

        rows = asyncio.run(read())
    return {sid: {"claimed_by": by, "attempts": attempts} for sid, by, attempts in rows}


class _Api:
    """The REST API of ``server``, with a number of its own to send from."""

    def __init__(self, server: LoftServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, auth=(server.account_sid, server.auth_token), timeout=30)
        self.base = f"/2010-04-01/Accounts/{server.account_sid}"
        self.sender = self.http.post(f"{self.base}/IncomingPhoneNumbers.json",
                                     data={"AreaCode": "415"}).json()["phone_number"]

    def send(self, to: str, **extra: str) -> str:
        response = self.http.post(f"{self.base}/Messages.json", data={"To": to, "From": self.sender,
                                                                      "Body": f"to {to}", **extra})
        assert response.status_code == 201, response.text
        sid: str = response.json()["sid"]
        return sid

    def status(self, sid: str) -> str:
        status: str = self.http.get(f"{self.base}/Messages/{sid}.json").json()["status"]
        return status

    def inbox(self, number: str) -> list[str]:
        return [m["sid"] for m in self.http.get(f"/sim/v1/Handsets/{number}/Messages").json()["messages"]]

    def hold_the_worker(self, receiver: Receiver, *, seconds: float = SLOW) -> None:
        """Occupy the worker's only slot with a status callback that takes ``seconds`` to answer."""
        receiver.answer("/slow", Answer(status=204, delay=seconds))
        self.send("+15558700001", StatusCallback=receiver.url("/slow"))
        receiver.wait_for(lambda requests: any(r.path == "/slow" for r in requests))


@pytest.fixture
def connect() -> Iterator[Callable[[LoftServer], _Api]]:
    """Connect to a server's API (again after a restart); every connection is closed after the test."""
    made: list[_Api] = []

    def make(server: LoftServer) -> _Api:
        made.append(_Api(server))
        return made[-1]

    yield make
    for api in made:
        api.http.close()


def test_a_send_is_handed_to_the_simulator_by_its_create_when_the_worker_has_room(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver)  # its only slot is busy, and nothing waits in its memory
    sid = api.send("+15558700002")
    # Delivered when the create answers, with no worker free to run anything: the create handed it over.
    assert api.status(sid) == "delivered"
    assert api.inbox("+15558700002") == [sid]
    assert sid not in _jobs(server)
    assert "Traceback" not in server.log()


def test_a_send_created_while_the_worker_has_no_room_waits_in_the_outbox(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver)
    receiver.answer("/held", Answer(status=204))
    handed = api.send("+15558700003", StatusCallback=receiver.url("/held"))  # its callbacks wait in memory
    left = api.send("+15558700004")  # no room for more: left in the outbox, for whichever worker is free first
    assert api.status(handed) == "delivered"
    callbacks = _jobs(server, "callback")
    assert server.process is not None
    assert callbacks[handed]["claimed_by"].startswith(f"{socket.gethostname()}:{server.process.pid}:")
    assert callbacks[handed]["attempts"] == 1
    assert _jobs(server)[left] == {"claimed_by": None, "attempts": 0}
    assert api.status(left) == "queued"
    eventually(lambda: api.status(left) == "delivered", timeout=SLOW + 20)
    assert api.inbox("+15558700003") == [handed]
    assert api.inbox("+15558700004") == [left]
    eventually(lambda: [r.param("MessageStatus") for r in receiver.to("/held")] == ["sent", "delivered"],
               timeout=20)


def test_callbacks_waiting_in_memory_past_their_lease_are_taken_over_by_another_worker(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver, seconds=4 * SLOW)
    receiver.answer("/held", Answer(status=204))
    sid = api.send("+15558700005", StatusCallback=receiver.url("/held"))  # its lease runs out after 2 s
    other = server.spawn("worker", env={"LOFT_WORKER_CONCURRENCY": "8"})
    try:
        # Sent by the other worker while the server's is still held by the slow callback.
        receiver.wait_for(lambda requests: [r.param("MessageStatus") for r in requests if r.path == "/held"]
                          == ["sent", "delivered"], timeout=3 * SLOW)
    finally:
        other.terminate()
        other.wait(15)
    assert api.inbox("+15558700005") == [sid]
    assert "Traceback" not in server.log()


def test_stopping_gives_back_the_callbacks_handed_over_but_not_started(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    server.extra_env["LOFT_JOB_LEASE_SECONDS"] = "120"  # a lease that would outlive the test
    server.stop()
    server.start()
    api = connect(server)
    api.hold_the_worker(receiver)
    receiver.answer("/held", Answer(status=204))
    sid = api.send("+15558700006", StatusCallback=receiver.url("/held"))
    assert _jobs(server, "callback")[sid]["claimed_by"] is not None
    server.stop()  # SIGTERM while its callbacks wait in memory
    assert _jobs(server, "callback")[sid] == {"claimed_by": None, "attempts": 0}
    server.start()
    # At once, not after the 120 s lease.
    receiver.wait_for(lambda requests: [r.param("MessageStatus") for r in requests if r.path == "/held"]
                      == ["sent", "delivered"], timeout=20)
    assert api.inbox("+15558700006") == [sid]


def test_the_status_callbacks_of_a_handed_over_send_are_run_by_the_same_worker_first(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver)
    receiver.answer("/held", Answer(status=204, delay=3.0))
    handed = api.send("+15558700007", StatusCallback=receiver.url("/held"))  # callbacks leased to the worker
    left = api.send("+15558700008")  # in the outbox, due before the callbacks of the first are recorded
    # Its callbacks were recorded under the worker's lease and run once its slot is free, with no claim: ahead of
    # the send waiting in the outbox, which a claim would have taken first (it is older).
    receiver.wait_for(lambda requests: any(r.path == "/held" for r in requests))
    assert api.status(left) == "queued"
    assert api.status(handed) == "delivered"
    eventually(lambda: api.status(left) == "delivered", timeout=SLOW + 20)
    eventually(lambda: [r.param("MessageStatus") for r in receiver.to("/held")] == ["sent", "delivered"],
               timeout=20)
    assert api.inbox("+15558700007") == [handed]
    assert api.inbox("+15558700008") == [left]
    assert "Traceback" not in server.log()


def _sql(server: LoftServer, script: list[str]) -> list[tuple[Any, ...]]:
    """Run ``script`` on the server's database from another connection; the rows of its last statement."""
    url = server.database_url
    if url is None:
        with sqlite3.connect(server.data_dir / "loft.db") as db:
            for statement in script[:-1]:
                db.execute(statement)
            return [tuple(row) for row in db.execute(script[-1]).fetchall()]

    async def run() -> list[tuple[Any, ...]]:
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            for statement in script[:-1]:
                await connection.execute(statement)
            return [tuple(row) for row in await connection.fetch(script[-1])]
        finally:
            await connection.close()

    return asyncio.run(run())


def test_a_send_handed_over_by_its_create_is_written_once_in_the_status_it_reached(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    # Every update of a message, as the database sees it.
    if server.database_url is None:
        watch = ["CREATE TRIGGER watched AFTER UPDATE ON messages BEGIN "
                 "INSERT INTO updated VALUES (new.sid, new.status); END"]
    else:
        watch = ["CREATE FUNCTION watched() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN INSERT INTO updated VALUES (NEW.sid, NEW.status); RETURN NEW; END $$",
                 "CREATE TRIGGER watched AFTER UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION watched()"]
    _sql(server, ["CREATE TABLE updated (sid TEXT, status TEXT)", *watch, "SELECT 1"])
    api = connect(server)
    receiver.answer("/held", Answer(status=204))
    sid = api.send("+15558700009", StatusCallback=receiver.url("/held"))
    assert api.status(sid) == "delivered"
    eventually(lambda: [r.param("MessageStatus") for r in receiver.to("/held")] == ["sent", "delivered"],
               timeout=20)
    assert _sql(server, ["SELECT sid, status FROM updated"]) == []
    assert _sql(server, [f"SELECT status, date_sent IS NOT NULL FROM messages WHERE sid = '{sid}'"]
                ) == [("delivered", True)]
