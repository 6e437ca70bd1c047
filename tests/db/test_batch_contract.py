"""The contract of submitted works (loft.db.engine), held by the engine on both databases: an item a batch work
fails leaves nothing behind, and a work that awaits anything but its conn's statements fails loudly."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text

from loft.db.engine import Conn, Database, ForbiddenAwait, open_database
from loft.db.postgres import PostgresConn, PostgresDatabase
from loft.errors import DatabaseUnavailable
from tests.conftest import fresh_database
from tests.support.databases import run_on

metadata = MetaData()
written = Table("contract_written", metadata, Column("item", Integer, primary_key=True), Column("note", String(16)))




def _run(database: Database, body: Any) -> Any:
    return run_on(database, metadata, body)


async def _committed(database: Database) -> set[int]:
    async with database.read() as conn:
        return set((await conn.execute(select(written.c.item))).scalars())


class _Batch:
    """Writes a row for every item, then fails the odd ones (as a check that comes after a write would)."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, conn: Conn, items: list[int]) -> list[int | Exception]:
        self.calls.append(items)
        await conn.execute(insert(written), [{"item": item} for item in items])
        return [ValueError(f"item {item} is odd") if item % 2 else item * 10 for item in items]


# An item that fails leaves nothing behind ---------------------------------------------------------------------


def test_an_item_a_batch_fails_leaves_nothing_behind(database: Database) -> None:
    batch = _Batch()

    async def body() -> tuple[list[object], set[int]]:
        results = await asyncio.gather(*(database.submit_item(batch, item) for item in range(6)),
                                       return_exceptions=True)
        return list(results), await _committed(database)

    results, committed = _run(database, body)
    assert [result if isinstance(result, int) else type(result) for result in results] == [
        0, ValueError, 20, ValueError, 40, ValueError]
    assert committed == {0, 2, 4}  # the odd items' rows went with their failure
    if database.is_sqlite:  # one batch, run again for the items that succeeded
        assert batch.calls == [[0, 1, 2, 3, 4, 5], [0, 2, 4]]


async def _raising(conn: Conn, items: list[int]) -> list[int | Exception]:
    """Writes a row for every item, then raises if it has more than one (as a statement of many rows that fails
    would); alone, fails the odd ones."""
    await conn.execute(insert(written), [{"item": item} for item in items])
    if len(items) > 1:
        raise RuntimeError("the batch as a whole failed")
    return [ValueError("odd") if item % 2 else item for item in items]


def test_an_item_run_alone_after_its_batch_raised_leaves_nothing_behind(database: Database) -> None:
    """A batch that raises runs again one item at a time; an item that fails alone keeps nothing either."""
    calls: list[list[int]] = []

    async def raising(conn: Conn, items: list[int]) -> list[int | Exception]:
        calls.append(items)
        return await _raising(conn, items)

    async def body() -> tuple[list[object], set[int]]:
        results = await asyncio.gather(*(database.submit_item(raising, item) for item in (2, 3)),
                                       return_exceptions=True)
        return list(results), await _committed(database)

    results, committed = _run(database, body)
    assert results[0] == 2 and isinstance(results[1], ValueError)
    assert committed == {2}
    if database.is_sqlite:
        assert calls == [[2, 3], [2], [3]]


def test_a_postgresql_batch_of_many_items_keeps_nothing_of_the_ones_it_fails(postgres_url: str) -> None:
    """PostgreSQL runs items together through ``PostgresDatabase.run_batch``: the same rule as SQLite's groups."""
    batch = _Batch()
    with fresh_database(postgres_url) as url:
        database = open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        assert isinstance(database, PostgresDatabase)

        async def body() -> tuple[list[object], list[object], set[int]]:
            results = await database.run_batch(batch, list(range(6)))
            raising = await database.run_batch(_raising, [10, 11])
            return list(results), list(raising), await _committed(database)

        results, raising, committed = _run(database, body)
    assert [result if isinstance(result, int) else type(result) for result in results] == [
        0, ValueError, 20, ValueError, 40, ValueError]
    assert batch.calls == [[0, 1, 2, 3, 4, 5], [0, 2, 4]]
    assert raising[0] == 10 and isinstance(raising[1], ValueError)
    assert committed == {0, 2, 4, 10}


def test_a_postgresql_batch_the_database_cannot_run_fails_every_item_at_once(postgres_url: str) -> None:
    """A batch that fails because the database is unavailable is not run again item by item: each run would wait
    out the same timeouts in turn (a request held for their sum). Every item gets the same 503."""
    calls: list[list[int]] = []

    async def unavailable(conn: Conn, items: list[int]) -> list[int | Exception]:
        calls.append(items)
        await conn.execute(insert(written), [{"item": item} for item in items])
        raise DatabaseUnavailable("the statement timed out", writing=True)

    with fresh_database(postgres_url) as url:
        database = open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        assert isinstance(database, PostgresDatabase)

        async def body() -> tuple[list[object], set[int]]:
            results = await database.run_batch(unavailable, [1, 2, 3, 4])
            return list(results), await _committed(database)

        results, committed = _run(database, body)
    assert calls == [[1, 2, 3, 4]]
    assert all(isinstance(result, DatabaseUnavailable) for result in results)
    assert committed == set()


def test_items_waiting_behind_a_batch_the_database_cannot_run_fail_with_it(postgres_url: str) -> None:
    """Items submitted while a batch waits for an unavailable database have waited out its timeouts too: they get
    its 503 at once rather than a second wait in the next batch. Items submitted afterwards run as usual."""
    calls: list[list[int]] = []

    async def stuck_then_unavailable(conn: Conn, items: list[int]) -> list[int | Exception]:
        calls.append(items)
        if items[0] == 1:
            await conn.execute(text("SELECT pg_sleep(0.3)"))  # the statement a timeout would cut short
            raise DatabaseUnavailable("the statement timed out", writing=True)
        await conn.execute(insert(written), [{"item": item} for item in items])
        return list(items)

    with fresh_database(postgres_url) as url:
        database = open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        assert isinstance(database, PostgresDatabase)

        async def body() -> tuple[list[object], object, set[int]]:
            first = asyncio.ensure_future(database.submit_item(stuck_then_unavailable, 1))
            await asyncio.sleep(0.1)  # the first batch is under way
            behind = [asyncio.ensure_future(database.submit_item(stuck_then_unavailable, item)) for item in (2, 3)]
            results = await asyncio.gather(first, *behind, return_exceptions=True)
            later = await database.submit_item(stuck_then_unavailable, 4)
            return list(results), later, await _committed(database)

        results, later, committed = _run(database, body)
    assert all(isinstance(result, DatabaseUnavailable) for result in results)
    assert calls == [[1], [4]] and later == 4 and committed == {4}


# A work awaits nothing but its conn's statements --------------------------------------------------------------


async def _waits_between_statements(conn: Conn) -> None:
    await conn.execute(insert(written), {"item": 1})
    await asyncio.sleep(0)  # anything but a statement: a lock, a sleep, the network
    await conn.execute(insert(written), {"item": 2})


def test_a_work_that_awaits_anything_but_a_statement_fails_loudly_and_writes_nothing(database: Database) -> None:
    async def body() -> tuple[BaseException | None, set[int]]:
        try:
            await database.submit(_waits_between_statements)
        except ForbiddenAwait as exc:
            return exc, await _committed(database)
        return None, await _committed(database)

    failure, committed = _run(database, body)
    assert isinstance(failure, ForbiddenAwait)
    # Raised where the work awaited, so that its traceback names the line.
    assert any(frame.name == "_waits_between_statements" for frame in traceback.extract_tb(failure.__traceback__))
    assert committed == set()


def test_a_batch_that_awaits_anything_but_a_statement_fails_each_item(database: Database) -> None:
    async def waiting(conn: Conn, items: list[int]) -> list[int | Exception]:
        await conn.execute(insert(written), [{"item": item} for item in items])
        await asyncio.Event().wait()  # would wait forever
        return list(items)

    async def body() -> tuple[list[object], set[int]]:
        results = await asyncio.wait_for(asyncio.gather(
            *(database.submit_item(waiting, item) for item in range(3)), return_exceptions=True), 10)
        return list(results), await _committed(database)

    results, committed = _run(database, body)
    assert [type(result) for result in results] == [ForbiddenAwait] * 3
    assert committed == set()


def test_a_work_may_wait_as_long_as_its_statements_take_and_be_cancelled_in_one(database: Database) -> None:
    """The check stands aside for statements, and passes a cancellation through to the work."""
    slow = "SELECT pg_sleep(0.2)" if not database.is_sqlite else "SELECT 1"

    async def work(conn: Conn) -> str:
        await conn.execute(text(slow))
        await conn.execute(insert(written), {"item": 7, "note": "kept"})
        return (await conn.execute(select(written.c.note))).scalar_one()  # type: ignore[no-any-return]

    async def body() -> tuple[str, bool, set[int]]:
        done = await database.submit(work)
        cancelled = False
        if not database.is_sqlite:
            stuck = asyncio.ensure_future(database.submit(lambda conn: conn.execute(text("SELECT pg_sleep(30)"))))
            await asyncio.sleep(0.3)
            stuck.cancel()
            try:
                await asyncio.wait_for(stuck, 5)
            except asyncio.CancelledError:
                cancelled = True
        return done, cancelled, await _committed(database)

    done, cancelled, committed = _run(database, body)
    assert done == "kept" and committed == {7}
    assert cancelled or database.is_sqlite


def test_every_method_of_postgresql_connections_that_may_suspend_is_marked_a_statement() -> None:
    """A method added to PostgreSQL's connection that awaits the driver must be marked with
    ``loft.db.engine.statement``, or every work that calls it would fail. (SQLite's statements never suspend,
    and a work there may not be suspended at all: nothing to mark.)"""
    own = {name: member for name, member in vars(PostgresConn).items()
           if inspect.iscoroutinefunction(member) and not name.startswith("_")}  # helpers run inside a statement
    assert {"execute", "run_sync"} <= set(own)
    assert [name for name, member in own.items() if not getattr(member, "is_statement", False)] == []


# What follows a commit happens once, and only for what was committed -----------------------------------------


def test_after_commit_hooks_run_once_for_what_was_committed(database: Database) -> None:
    """A batch run again (it failed some items) or a work that fails gives its hooks up with its writes: a
    metric counted in a hook counts each committed change once (counted inside the work, a run again counted
    the others twice)."""
    hooked: list[int] = []

    async def batch(conn: Conn, items: list[int]) -> list[int | Exception]:
        await conn.execute(insert(written), [{"item": item} for item in items])
        for item in items:
            conn.after_commit(lambda item=item: hooked.append(item))  # type: ignore[misc]
        return [ValueError(f"item {item} is odd") if item % 2 else item for item in items]

    async def failing(conn: Conn) -> None:
        await conn.execute(insert(written), [{"item": 100}])
        conn.after_commit(lambda: hooked.append(100))
        raise RuntimeError("refused after its write")

    async def body() -> tuple[set[int], list[int]]:
        await asyncio.gather(*(database.submit_item(batch, item) for item in range(6)), return_exceptions=True)
        with pytest.raises(RuntimeError):
            await database.submit(failing)
        with pytest.raises(LookupError):
            async with database.write() as conn:
                await conn.execute(insert(written), [{"item": 200}])
                conn.after_commit(lambda: hooked.append(200))
                raise LookupError("a block that fails")
        async with database.write() as conn:
            await conn.execute(insert(written), [{"item": 300}])
            conn.after_commit(lambda: hooked.append(300))
            assert hooked.count(300) == 0  # not before the commit
        return await _committed(database), list(hooked)

    committed, hooks = _run(database, body)
    assert committed == {0, 2, 4, 300}
    assert sorted(hooks) == [0, 2, 4, 300]  # each once, and none for what was rolled back
