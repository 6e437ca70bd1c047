"""On PostgreSQL a worker that runs jobs vacuums the outbox every ``LOFT_OUTBOX_VACUUM_SECONDS`` (loft.delivery.
outbox.vacuum): autovacuum visits the table once a minute at most, while every job leaves dead rows in it. An idle
worker does not vacuum, and 0 leaves the table to autovacuum."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from twilio.rest import Client

from loft.db.engine import Database, open_database
from loft.delivery import outbox
from tests.conftest import server_of_its_own
from tests.support import clients
from tests.support.receiver import Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually

EVERY = 0.2


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def vacuuming(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_OUTBOX_VACUUM_SECONDS=str(EVERY))
    with server.running():
        yield server


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def not_vacuuming(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_OUTBOX_VACUUM_SECONDS="0")
    with server.running():
        yield server


def test_a_worker_vacuums_the_outbox_while_it_runs_jobs_and_not_while_idle(vacuuming: LoftServer,
                                                                             receiver: Receiver) -> None:
    client = _client(vacuuming)
    time.sleep(5 * EVERY)
    assert _vacuums(vacuuming) == 0  # nothing ran yet: nothing to clear

    _send(client, receiver, count=3)
    eventually(lambda: _vacuums(vacuuming) >= 1, timeout=10)

    time.sleep(5 * EVERY)  # the last callbacks' jobs are done; one more vacuum may follow them
    settled = _vacuums(vacuuming)
    time.sleep(5 * EVERY)
    assert _vacuums(vacuuming) == settled


def test_zero_leaves_the_outbox_to_autovacuum(not_vacuuming: LoftServer, receiver: Receiver) -> None:
    _send(_client(not_vacuuming), receiver, count=3)
    time.sleep(1.0)
    assert _vacuums(not_vacuuming) == 0


def _client(server: LoftServer) -> Client:
    return clients.sdk(server.base_url, server.account_sid, server.auth_token)


def _send(client: Client, receiver: Receiver, *, count: int) -> None:
    """``count`` messages with a status callback (a job each, run by the worker), all delivered."""
    sender = client.incoming_phone_numbers.create(area_code="415").phone_number
    for n in range(count):
        client.messages.create(to=f"+1555869{n:04d}", from_=sender, body="vacuum",
                               status_callback=receiver.url("/status"))
    receiver.wait_for(lambda got: sum(r.param("MessageStatus") == "delivered" for r in got) == count)


def _vacuums(server: LoftServer) -> int:
    """Manual ``VACUUM``s of the outbox so far (autovacuum's are counted apart)."""
    assert server.database_url is not None
    return asyncio.run(_vacuum_count(server.database_url))


@pytest.mark.postgres
def test_only_a_role_that_may_vacuum_the_outbox_is_told_it_may(own_postgres_database: str) -> None:
    """PostgreSQL 15 lets the table's owner (or the database's, or a superuser) vacuum it, and skips it for
    another role with a warning in its log: the worker asks first, and leaves the table to autovacuum then."""
    role = f"loft_guest_{secrets.token_hex(4)}"
    guest_url = make_url(own_postgres_database).set(username=role).render_as_string(hide_password=False)

    async def may_and_did_vacuum(url: str) -> tuple[bool, bool]:
        database = _open(url)
        try:
            before = await _vacuum_count(own_postgres_database)
            async with database.read_single() as conn:
                may = await outbox.may_vacuum(conn)
            await database.submit_single(outbox.vacuum)
            return may, await _vacuum_count(own_postgres_database) > before
        finally:
            await database.dispose()

    async def body() -> list[tuple[bool, bool]]:
        owner = _open(own_postgres_database)
        await owner.migrate()
        await owner.dispose()
        admin = await asyncpg.connect(own_postgres_database)
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        try:
            await admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
            return [await may_and_did_vacuum(own_postgres_database), await may_and_did_vacuum(guest_url)]
        finally:
            await admin.execute(f'DROP OWNED BY "{role}"')
            await admin.execute(f'DROP ROLE "{role}"')
            await admin.close()

    assert asyncio.run(body()) == [(True, True), (False, False)]


def _open(url: str) -> Database:
    """Loft's database at ``url`` (a ``postgresql://`` URL, as the tests' PostgreSQL gives it)."""
    return open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))


async def _vacuum_count(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        count = await connection.fetchval("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'outbox'")
        return int(count or 0)
    finally:
        await connection.close()


@pytest.mark.postgres
def test_the_outbox_is_due_for_a_vacuum_unless_one_ended_within_the_interval(own_postgres_database: str) -> None:
    """Workers of many processes look before they vacuum: the table needs one vacuum per interval, not one per
    worker (and a second ``VACUUM`` waits for the first's lock)."""

    async def body() -> list[bool]:
        database = _open(own_postgres_database)
        try:
            await database.migrate()
            due = []
            for vacuum_first, seconds in ((False, 60.0), (True, 60.0), (False, 0.0)):
                if vacuum_first:
                    await database.submit_single(outbox.vacuum)
                async with database.read_single() as conn:
                    due.append(await outbox.vacuum_due(conn, seconds))
            return due
        finally:
            await database.dispose()

    # never vacuumed: due; just vacuumed: not within a minute, but past an interval of nothing
    assert asyncio.run(body()) == [True, False, True]
