"""Sends handed from the API to its own process's worker in memory: recorded already claimed (a lease), never
handed to a carrier twice, given back when the server stops before starting them, and followed by their
status callbacks in the same worker, with no claim.

The server's worker gets one slot (``LOFT_WORKER_CONCURRENCY=1``), held for seconds by a status callback to
a slow receiver, so that a send handed over meanwhile waits in memory where the tests can look at it.
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


def _jobs(server: LoftServer) -> dict[str, dict[str, Any]]:
    """The send jobs in the outbox, by message SID, as another process reads them."""
    query = "SELECT subject_sid, claimed_by, attempts FROM outbox WHERE kind = 'send'"
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

    def hold_the_worker(self, receiver: Receiver) -> None:
        """Occupy the worker's only slot with a status callback that takes ``SLOW`` seconds to answer."""
        receiver.answer("/slow", Answer(status=204, delay=SLOW))
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


def test_a_send_is_recorded_claimed_by_its_server_s_worker_and_handed_to_it(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver)
    handed = api.send("+15558700002")  # the worker has room in memory for one: leased to it
    left = api.send("+15558700003")  # not for a second while the first waits: left in the outbox
    jobs = _jobs(server)
    assert server.process is not None
    assert jobs[handed]["claimed_by"].startswith(f"{socket.gethostname()}:{server.process.pid}:")
    assert jobs[handed]["attempts"] == 1
    assert jobs[left] == {"claimed_by": None, "attempts": 0}
    eventually(lambda: api.status(handed) == api.status(left) == "delivered", timeout=SLOW + 20)
    assert api.inbox("+15558700002") == [handed]
    assert api.inbox("+15558700003") == [left]


def test_a_handed_over_send_that_another_worker_took_over_is_not_handed_to_the_carrier_twice(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver)
    sid = api.send("+15558700004")  # waits in the server's memory, its lease running out after 2 s
    # Takes the job over once the lease has run out, and delivers it (it takes the slow callback over too, whose
    # lease runs out as well: at least once, as callbacks go).
    other = server.spawn("worker", env={"LOFT_WORKER_CONCURRENCY": "8"})
    try:
        eventually(lambda: api.status(sid) == "delivered", timeout=SLOW + 20)
    finally:
        other.terminate()
        other.wait(15)
    assert api.inbox("+15558700004") == [sid]
    # Once the slow callback is answered, the server's worker gets to the send it was handed, with the message
    # as created ("queued"): it must leave it. A send created now waits in the outbox for the same worker (its
    # memory is full), which gets to it only after the stale one: once it is delivered, the stale one was met.
    after = api.send("+15558700005")
    eventually(lambda: api.status(after) == "delivered", timeout=SLOW + 20)
    assert api.inbox("+15558700004") == [sid]
    assert api.inbox("+15558700005") == [after]
    assert "Traceback" not in server.log()


def test_stopping_gives_back_the_sends_handed_over_but_not_started(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    server.extra_env["LOFT_JOB_LEASE_SECONDS"] = "120"  # a lease that would outlive the test
    server.stop()
    server.start()
    api = connect(server)
    api.hold_the_worker(receiver)
    sid = api.send("+15558700006")
    assert _jobs(server)[sid]["claimed_by"] is not None
    server.stop()  # SIGTERM while the send waits in memory
    assert _jobs(server)[sid] == {"claimed_by": None, "attempts": 0}
    server.start()
    api = connect(server)
    eventually(lambda: api.status(sid) == "delivered", timeout=20)  # at once, not after the 120 s lease
    assert api.inbox("+15558700006") == [sid]


def test_the_status_callbacks_of_a_handed_over_send_are_handed_to_the_same_worker(
        server: LoftServer, receiver: Receiver, connect: Callable[[LoftServer], _Api]) -> None:
    api = connect(server)
    api.hold_the_worker(receiver)
    receiver.answer("/held", Answer(status=204, delay=3.0))
    handed = api.send("+15558700007", StatusCallback=receiver.url("/held"))  # leased to the worker, in memory
    left = api.send("+15558700008")  # in the outbox, due before the callbacks of the first are recorded
    # Its callbacks are recorded under the send's lease and run in the send's slot, with no claim: ahead of the
    # send waiting in the outbox, which a claim would have taken first (it is older).
    receiver.wait_for(lambda requests: any(r.path == "/held" for r in requests))
    assert api.status(left) == "queued"
    assert api.status(handed) == "delivered"
    eventually(lambda: api.status(left) == "delivered", timeout=SLOW + 20)
    eventually(lambda: [r.param("MessageStatus") for r in receiver.to("/held")] == ["sent", "delivered"],
               timeout=20)
    assert api.inbox("+15558700007") == [handed]
    assert api.inbox("+15558700008") == [left]
    assert "Traceback" not in server.log()
