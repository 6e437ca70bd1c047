"""The database's health (loft.db.health): an outage is logged in a few lines, not a line per failure; and which
errors say "the database is unavailable" (loft.db.outages.outage) rather than "this is wrong"."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from loft.db.health import Health
from loft.db.outages import outage
from loft.db.postgres import PostgresDatabase
from loft.errors import DatabaseUnavailable, NotFound


def _down(reason: str = "[Errno 111] Connection refused", *, writing: bool = True) -> DatabaseUnavailable:
    return DatabaseUnavailable(reason, writing=writing)


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "loft.db"]


def test_an_outage_is_one_line_down_a_line_per_interval_and_one_line_up(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        health = Health(remind_every=0.05)
        began = health.outages
        for _ in range(3):
            health.refused(_down())
        health.failed(_down("no answer within the timeout"))
        while len(_lines(caplog)) < 2:  # the reminder (bounded by the test's timeout)
            await asyncio.sleep(0.01)
        health.refused(_down())
        health.answered(since=began + 1, writing=True)
        await asyncio.sleep(0.15)  # no reminder once it is over
        assert not health.down

    with caplog.at_level(logging.INFO, logger="loft.db"):
        asyncio.run(main())
    assert _lines(caplog) == [
        "database unavailable: [Errno 111] Connection refused",
        "database still unavailable (2 requests refused, 1 delivery transactions failed in the last 0.05 s): "
        "no answer within the timeout",
        "database available again after 0 s (4 requests refused, 1 delivery transactions failed)",
    ]
    assert all(record.exc_info is None for record in caplog.records)


def test_an_interval_with_nothing_refused_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        health = Health(remind_every=0.02)
        health.refused(_down())
        await asyncio.sleep(0.2)
        health.close()

    with caplog.at_level(logging.INFO, logger="loft.db"):
        asyncio.run(main())
    assert _lines(caplog) == ["database unavailable: [Errno 111] Connection refused"]


def test_reads_that_succeed_do_not_end_an_outage_of_writes() -> None:
    """SQLite: a file that refuses writes (read-only, full) still answers reads."""
    async def main() -> list[bool]:
        health = Health()
        health.refused(_down("disk I/O error", writing=True))
        since = health.outages
        health.answered(since=since, writing=False)
        still = health.down
        health.answered(since=since, writing=True)
        return [still, health.down]

    assert asyncio.run(main()) == [True, False]


def test_a_read_ends_an_outage_in_which_reads_failed() -> None:
    async def main() -> bool:
        health = Health()
        health.refused(_down(writing=False))
        health.answered(since=health.outages, writing=False)
        return health.down

    assert asyncio.run(main()) is False


def test_a_transaction_begun_before_the_outage_does_not_end_it() -> None:
    """One that was under way when the database went down may succeed after others failed: no evidence."""
    async def main() -> bool:
        health = Health()
        before = health.outages
        health.refused(_down())
        health.answered(since=before, writing=True)
        down = health.down
        health.close()
        return down

    assert asyncio.run(main()) is True


def _sqlite_error(tmp_path: Path, kind: str) -> sqlite3.Error:
    path = tmp_path / "file.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER PRIMARY KEY)")
        setup.execute("INSERT OR IGNORE INTO t VALUES (1)")
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(f"file:{path}?mode=ro" if kind == "readonly" else str(path), uri=kind == "readonly",
                            timeout=0, isolation_level=None)
    try:
        if kind == "locked":
            holder.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")
        elif kind == "readonly":
            other.execute("INSERT INTO t VALUES (2)")
        elif kind == "constraint":
            other.execute("INSERT INTO t VALUES (1)")
        else:
            other.execute("SELEKT 1")
    except sqlite3.Error as exc:
        return exc
    finally:
        holder.close()
        other.close()
    raise AssertionError(f"no error for {kind}")


@pytest.mark.parametrize(("kind", "unavailable"), [
    pytest.param("locked", True, id="locked-by-another-program"),
    pytest.param("readonly", True, id="read-only"),
    pytest.param("constraint", False, id="unique-constraint"),
    pytest.param("syntax", False, id="wrong-statement"),
])
def test_sqlite_errors(tmp_path: Path, kind: str, unavailable: bool) -> None:
    error = _sqlite_error(tmp_path, kind)
    wrapped = DBAPIError.instance("INSERT …", [], error, sqlite3.Error)
    assert (outage(error, writing=True) is not None) is unavailable
    assert (outage(wrapped, writing=True) is not None) is unavailable


@pytest.mark.parametrize(("error", "unavailable"), [
    pytest.param(ConnectionRefusedError(111, "Connect call failed"), True, id="refused"),
    pytest.param(ConnectionResetError(104, "Connection reset by peer"), True, id="reset"),
    pytest.param(OSError(113, "No route to host"), True, id="unreachable"),
    pytest.param(asyncio.TimeoutError(), True, id="asyncpg-timeout"),
    pytest.param(PoolTimeout("QueuePool limit of size 10 overflow 10 reached"), True, id="pool-timeout"),
    pytest.param(asyncpg.CannotConnectNowError("the database system is starting up"), True, id="starting-up"),
    pytest.param(asyncpg.AdminShutdownError("terminating connection"), True, id="shutting-down"),
    pytest.param(asyncpg.TooManyConnectionsError("too many clients"), True, id="too-many-connections"),
    pytest.param(asyncpg.InvalidCatalogNameError('database "loft" does not exist'), True, id="database-gone"),
    pytest.param(asyncpg.QueryCanceledError("canceling statement due to statement timeout"), True,
                 id="statement-timeout"),
    pytest.param(asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"), True,
                 id="read-only-standby"),
    pytest.param(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True,
                 id="closed-mid-operation"),
    pytest.param(asyncpg.UniqueViolationError("duplicate key"), False, id="unique-violation"),
    pytest.param(asyncpg.UndefinedColumnError('column "x" does not exist'), False, id="wrong-statement"),
    pytest.param(NotFound("/x"), False, id="not-found"),
    pytest.param(ValueError("bug"), False, id="bug"),
])
def test_errors_that_say_the_database_is_unavailable(error: Exception, unavailable: bool) -> None:
    found = outage(error, writing=False)
    assert (found is not None) is unavailable
    if found is not None:
        assert found.code == 20503 and found.status == 503 and found.reason
        assert not found.writing


def test_a_driver_error_wrapped_by_sqlalchemy_is_found_under_it() -> None:
    cause = asyncpg.CannotConnectNowError("the database system is shutting down")
    adapted = RuntimeError("adapted")  # what SQLAlchemy's asyncpg adapter raises, from the driver's error
    adapted.__cause__ = cause
    wrapped = DBAPIError.instance("SELECT 1", [], adapted, RuntimeError)
    assert outage(wrapped, writing=True) is not None
    assert outage(DBAPIError.instance("SELECT 1", [], ValueError("x"), ValueError), writing=True) is None


def test_a_connection_sqlalchemy_found_dead_is_an_outage() -> None:
    wrapped = DBAPIError.instance("SELECT 1", [], RuntimeError("connection is closed"), RuntimeError,
                                  connection_invalidated=True)
    found = outage(wrapped, writing=True)
    assert found is not None and found.reason == "connection is closed"


class _Unanswered:
    """A driver connection whose polite close waits for a server that never answers, or fails another way."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def close(self) -> None:
        raise self.error


@pytest.mark.parametrize(("error", "logged"), [
    pytest.param(TimeoutError(), False, id="no-answer-in-an-outage"),
    pytest.param(ConnectionResetError(104, "Connection reset by peer"), False, id="reset-in-an-outage"),
    pytest.param(ValueError("a bug in a driver"), True, id="anything-else"),
])
def test_the_pool_failing_to_close_a_connection_in_an_outage_logs_no_traceback(
        caplog: pytest.LogCaptureFixture, error: BaseException, logged: bool) -> None:
    """SQLAlchemy's pool logs a connection it cannot close with its traceback at ERROR; in an outage (asyncpg has
    aborted the connection, Loft has logged the outage once) that is noise; anything else is still reported."""
    database = PostgresDatabase("postgresql+asyncpg://loft@127.0.0.1:9/none")  # never connects: the pool's own code runs
    pool = database._async.sync_engine.pool
    with caplog.at_level(logging.WARNING):
        pool._close_connection(_Unanswered(error))  # type: ignore[arg-type]  # what the pool does with a connection returned in an outage
    closing = [record for record in caplog.records if "closing connection" in record.getMessage()]
    assert len(closing) == (1 if logged else 0), closing
    assert all(record.exc_info for record in closing)
