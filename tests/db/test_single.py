"""Works of one statement (``Database.submit_single``, ``Database.read_single``): committed like any work, held
to one statement on both databases, and on PostgreSQL run as a transaction by themselves, with no ``BEGIN``
before the statement (nor ``COMMIT`` after it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, insert, select, update

from loft.db.engine import Conn, Database, SecondStatement
from loft.db.prepared import Prepared
from tests.support.databases import run_on

metadata = MetaData()
rows = Table("single_rows", metadata, Column("id", Integer, primary_key=True), Column("note", String(16)))
_INSERT = Prepared(insert(rows))
_COUNT = Prepared(select(rows.c.id).order_by(rows.c.id))


def _run(database: Database, body: Any) -> Any:
    return run_on(database, metadata, body)


async def _ids(database: Database) -> list[int]:
    async with database.read() as conn:
        return [row.id for row in (await conn.execute(_COUNT)).all()]


def test_a_work_of_one_statement_is_committed_with_its_hooks(database: Database) -> None:
    done: list[str] = []

    async def work(conn: Conn) -> str:
        conn.after_commit(lambda: done.append("hook"))
        await conn.execute(_INSERT, {"id": 1, "note": "prepared"})
        return "result"

    async def through_sqlalchemy(conn: Conn) -> None:
        await conn.execute(insert(rows).values(id=2, note="sqlalchemy"))  # not prepared: SQLAlchemy runs it

    async def body() -> tuple[str, list[int], list[int]]:
        result = await database.submit_single(work)
        await database.submit_single(through_sqlalchemy)
        async with database.read_single() as conn:
            read = [row.id for row in (await conn.execute(_COUNT)).all()]
        return result, read, await _ids(database)

    result, read, committed = _run(database, body)
    assert result == "result"
    assert done == ["hook"]
    assert read == committed == [1, 2]


def test_a_second_statement_fails_before_it_reaches_the_database(database: Database) -> None:
    async def two(conn: Conn) -> None:
        await conn.execute(_INSERT, {"id": 1, "note": "first"})
        await conn.execute(_INSERT, {"id": 2, "note": "second"})

    async def body() -> tuple[list[str], list[int]]:
        errors = []
        try:
            await database.submit_single(two)
        except SecondStatement as exc:
            errors.append(str(exc))
        try:
            async with database.read_single() as conn:
                await conn.execute(_COUNT)
                await conn.execute(_COUNT)
        except SecondStatement as exc:
            errors.append(str(exc))
        return errors, await _ids(database)

    errors, committed = _run(database, body)
    assert len(errors) == 2 and all("second one" in error for error in errors)
    assert 2 not in committed  # (on PostgreSQL the first statement, a transaction by itself, stands)


@pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_on_postgres_the_statement_is_a_transaction_by_itself(database: Database) -> None:
    """What each asks of PostgreSQL, as asyncpg logs it on the pool's connections: the statement alone, or
    framed by ``BEGIN`` and ``COMMIT``."""
    sent: list[str] = []
    engine = database._async.sync_engine  # type: ignore[attr-defined]
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.driver_connection.add_query_logger(
        lambda query: sent.append(query.query.split()[0].upper().rstrip(";"))))
    claim = Prepared(update(rows).where(rows.c.id == bindparam("wanted")).values(note="claimed").returning(rows.c.id))

    async def work(conn: Conn) -> list[int]:
        return [row.id for row in (await conn.execute(claim, {"wanted": 1})).all()]

    async def body() -> dict[str, list[str]]:
        await database.submit(lambda conn: conn.execute(_INSERT, {"id": 1, "note": "new"}))
        await database.submit(work)  # (the first run of a statement prepares it: asyncpg logs only the later ones)
        found = {}
        for name, run in (("submit_single", database.submit_single), ("submit", database.submit)):
            sent.clear()
            assert await run(work) == [1]
            found[name] = list(sent)
        for name, reading in (("read_single", database.read_single), ("read", database.read)):
            sent.clear()
            async with reading() as conn:
                assert [row.id for row in (await conn.execute(_COUNT)).all()] == [1]
            found[name] = list(sent)
        return found

    assert _run(database, body) == {"submit_single": ["UPDATE"], "read_single": ["SELECT"],
                                    "submit": ["BEGIN", "UPDATE", "COMMIT"], "read": ["BEGIN", "SELECT", "COMMIT"]}
