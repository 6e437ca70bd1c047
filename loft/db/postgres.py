"""PostgreSQL: transactions through asyncpg, any number of them at once.

Connections come from SQLAlchemy's async engine and its pool; hot statements (:class:`loft.db.prepared.Prepared`)
run straight on the asyncpg connection underneath, in the transaction SQLAlchemy's asyncpg adapter keeps, so
that SQLAlchemy begins, commits and rolls it back as usual (see :meth:`PostgresConn._run`).

**Batches.** The items submitted to one batch work (:meth:`PostgresDatabase.submit_item`) while
:data:`IN_FLIGHT` batches of it are running wait for the next one, and all go together in one transaction
(:meth:`PostgresDatabase.run_batch`, held to the batch contract); an item submitted while none runs starts one at
once, so no delay is added at low load, and under load the batches grow by themselves: a create, a hand-over or a
callback's record costs a fraction of a transaction and of each statement's round trip (0.07 transactions per
message end to end, where an item per transaction made 3.2; docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Connection,
    DateTime,
    Insert,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.base import Executable

from loft.db import outages as unavailability
from loft.db import private
from loft.db.engine import (
    CONNECT_TIMEOUT,
    STATEMENT_TIMEOUT,
    BatchWork,
    Conn,
    Database,
    I,
    Single,
    T,
    Work,
    fenced,
    json_dumps,
    run_hooks,
    statement,
    upgrade,
)
from loft.db.prepared import FetchedRows, Plan, Prepared, bind_processor, unbounded
from loft.errors import DatabaseUnavailable

log = logging.getLogger("loft.db")
#: Connections each process keeps to PostgreSQL at most by default (LOFT_DATABASE_POOL_SIZE).
POOL_SIZE = 20


class PostgresConn(Conn):
    """A pool connection inside a transaction. Each of its coroutine methods is a :func:`statement`: a submitted
    work may be suspended in them only (``tests/db/test_batch_contract.py`` holds new ones to it)."""

    __slots__ = ("_async", "_notify", "_begun")

    def __init__(self, conn: AsyncConnection, notify: Callable[[str], None], *, begun: bool = True) -> None:
        super().__init__(conn.dialect)
        self._async = conn
        self._notify = notify
        #: False: no transaction was begun for this connection's statement (a work of one statement, which
        #: PostgreSQL runs as a transaction by itself: see :meth:`PostgresDatabase.submit_single`).
        self._begun = begun

    def notify_after_commit(self, channel: str) -> None:
        self.after_commit(functools.partial(self._notify, channel))

    @statement
    async def execute(self, statement: Executable | Prepared, parameters: Any = None) -> Any:
        if isinstance(statement, Prepared):
            plan = self._plan(statement, parameters)
            adapter = self._adapter() if plan is not None else None
            if plan is not None and adapter is not None:
                return await self._run(plan, adapter, parameters)
            statement = statement.statement
        return await self._async.execute(statement, parameters)

    @statement
    async def insert_rows(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """All the rows in one statement (see :func:`_unnested`): one round trip, not one per row."""
        unnested = _unnested(statement, rows, self.dialect)
        if unnested is None:
            return await super().insert_rows(statement, rows)
        many, parameters = unnested
        return list((await self.execute(many, parameters)).all())

    @statement
    async def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> int:
        unnested = _unnested(statement, rows, self.dialect)
        if unnested is None:
            return await super().execute_many(statement, rows)
        many, parameters = unnested
        changed: int = (await self.execute(many, parameters)).rowcount
        return max(0, changed)

    def _adapter(self) -> Any:
        """SQLAlchemy's asyncpg adapter under this connection, if it is the one this code knows."""
        return private.asyncpg_adapter(self._async.sync_connection.connection.dbapi_connection)  # type: ignore[union-attr]

    async def _run(self, plan: Plan, adapter: Any, parameters: Mapping[str, Any] | None) -> FetchedRows:
        """Run ``plan`` on the asyncpg connection itself, in the transaction the adapter keeps (begun the way
        SQLAlchemy begins it, so that SQLAlchemy commits or rolls it back as usual); errors come out as
        SQLAlchemy's, and a connection found dead is invalidated as SQLAlchemy would."""
        values = plan.values(parameters)
        try:
            driver = await private.driver_in_transaction(adapter) if self._begun else adapter.driver_connection
            if plan.row is None:
                status = await driver.execute(plan.sql, *values)  # e.g. "UPDATE 1"
                last = status.rsplit(" ", 1)[-1]
                return plan.rows([], int(last) if last.isdigit() else -1)
            if plan.results is None:  # the first run: learn the result columns' types from PostgreSQL
                prepared = await driver.prepare(plan.sql)
                plan.resolve(self.dialect, [attribute.type.oid for attribute in prepared.get_attributes()])
                records = await prepared.fetch(*values)
            else:
                records = await driver.fetch(plan.sql, *values)
            return plan.rows(records, len(records))
        except Exception as exc:  # asyncpg's errors, translated the way SQLAlchemy translates them
            dbapi = self.dialect.loaded_dbapi
            error: Exception = exc
            if not isinstance(exc, dbapi.Error):
                error = private.translated(adapter, exc)  # the OS's and asyncio's errors stay what they are
            lost = unavailability.outage(exc, writing=False) is not None
            invalidated = lost or self.dialect.is_disconnect(error, adapter, None)  # type: ignore[arg-type]
            if invalidated:
                # What on_postgres_error has SQLAlchemy do: this connection closed at once (outside SQLAlchemy's
                # greenlet it is not closed politely) and the pool's older ones replaced at their next checkout.
                sync = self._async.sync_connection
                assert sync is not None
                private.invalidate_pool(self._async.sync_engine.pool, sync.connection, error)
                await self._async.invalidate()
            if error is exc and not isinstance(exc, dbapi.Error):
                raise
            raise DBAPIError.instance(plan.sql, values, error, dbapi.Error, hide_parameters=True,
                                      connection_invalidated=invalidated, dialect=self.dialect) from exc

    @statement
    async def run_sync(self, fn: Callable[[Connection], Any]) -> Any:
        return await self._async.run_sync(fn)


#: One statement for every channel to notify.
_NOTIFY = Prepared(text("SELECT pg_notify(channel, '') FROM unnest(CAST(:channels AS TEXT[])) AS channel")
                   .bindparams(bindparam("channels", type_=ARRAY(Text))))
#: Batches of one work running at once in one process, each in a transaction of its own (one: fewer, larger
#: batches cost less CPU per item, and were faster too, than two).
IN_FLIGHT = 1
#: Items in one batch at most (its statements' lists and rows grow with it).
MAX_BATCH = 256


class _RolledBack(Exception):
    """Raised in a batch's transaction to roll it back: the work failed some of its items."""


class PostgresDatabase(Database):
    """A PostgreSQL database: each transaction on a connection of the pool."""

    is_sqlite = False

    def __init__(self, url: str, *, connect_timeout: float = CONNECT_TIMEOUT,
                 statement_timeout: float = STATEMENT_TIMEOUT, pool_size: int | None = None) -> None:
        super().__init__(url)
        self._connect_timeout = connect_timeout
        # No pre-ping (a round trip per checkout, 15 % of the CPU per message): a connection PostgreSQL cut
        # is noticed on use, the pool reconnects, and a request that meets it is answered 503.
        # asyncpg's defaults wait 60 s for a connection and forever for an answer, and the pool 30 s for a free
        # connection: a database that accepts connections and never answers would hold every request that long.
        # All the pool's connections are kept once opened, none beyond: overflow connections would be closed as soon
        # as they are returned, and a burst would then open and close a connection (a PostgreSQL backend, a fork
        # and its catalog caches warming up again) again and again.
        self._async = create_async_engine(
            url, pool_size=pool_size or POOL_SIZE, max_overflow=0, pool_timeout=connect_timeout, hide_parameters=True,
            connect_args={"timeout": connect_timeout, "command_timeout": statement_timeout or None},
            json_serializer=json_dumps, json_deserializer=orjson.loads)
        event.listen(self._async.sync_engine, "handle_error", unavailability.on_postgres_error)
        pool_logger = self._async.sync_engine.pool.logger
        if isinstance(pool_logger, logging.Logger):  # SQLAlchemy wraps it only for echo_pool, never set here
            unavailability.quiet_closes_in_outages(pool_logger)
        #: Items waiting for the next batch of their work, and how many batches of each work are running.
        self._waiting: dict[Any, list[tuple[Any, asyncio.Future[Any]]]] = {}
        self._running: dict[Any, int] = {}
        self._batches: set[asyncio.Task[None]] = set()
        #: Channels to notify (:meth:`notify`), and the task sending them, if one is.
        self._channels: set[str] = set()
        self._notifying: asyncio.Task[None] | None = None

    def write(self) -> AbstractAsyncContextManager[Conn]:
        return self._connection(writing=True, begun=True)

    @asynccontextmanager
    async def _connection(self, *, writing: bool, begun: bool) -> AsyncIterator[PostgresConn]:
        """A connection of the pool in a transaction (``begun``), or for one statement that is a transaction by
        itself: no ``BEGIN`` is sent, and hot statements run straight on asyncpg (a statement that goes through
        SQLAlchemy has it begin a transaction, committed here after it). What a write's works asked for once they
        are committed (:meth:`Conn.after_commit`) is done after it."""
        outages = self.health.outages
        try:
            async with self._async.connect() as conn:
                if begun:
                    async with conn.begin():
                        mine = PostgresConn(conn, self.notify)
                        yield mine
                else:
                    mine = PostgresConn(conn, self.notify, begun=False)
                    yield mine
                    if conn.in_transaction():
                        await conn.commit()
        except Exception as exc:
            raise unavailability.translated(exc, writing=writing)
        if self.health.down:
            self.health.answered(since=outages, writing=writing)
        if writing:
            run_hooks(mine.hooks)

    def notify(self, channel: str) -> None:
        """``NOTIFY channel`` soon, in a transaction of its own (:meth:`Conn.notify_after_commit`, once a work that
        asked for it is committed). PostgreSQL serialises the commits of every transaction that notifies, database-
        wide (a lock on the database taken at commit: ``Lock:object`` in ``pg_stat_activity``), so writes do not
        notify in their own transactions, and a process sends one notification at a time: the channels asked for
        while one is being sent go together in the next, in one statement. A notification that cannot be sent is
        dropped (listeners poll anyway). A channel given a route goes where it leads (:meth:`route_notifications`)."""
        self._channels.add(channel)
        if self._notifying is None:
            self._notifying = asyncio.get_running_loop().create_task(self._send_notifications())
            self._batches.add(self._notifying)
            self._notifying.add_done_callback(self._batches.discard)

    async def _send_notifications(self) -> None:
        try:
            while self._channels:
                channels = sorted(self._channels)
                self._channels.clear()
                try:
                    channels = sorted({await self._routes[channel]() if channel in self._routes else channel
                                       for channel in channels})
                    async with self._connection(writing=True, begun=False) as conn:
                        await conn.execute(_NOTIFY, {"channels": channels})
                except Exception as exc:  # noqa: BLE001 - a wake-up is a hint: listeners poll anyway
                    log.debug("could not notify %s (%s): listeners will find the work at their next poll",
                              ", ".join(channels), exc)
        finally:
            self._notifying = None

    async def submit(self, work: Work[T]) -> T:
        async with self.write() as conn:
            return await fenced(work(conn), conn)

    async def submit_single(self, work: Work[T]) -> T:
        """:meth:`submit` for a work of one statement, run by PostgreSQL as a transaction by itself: one round trip
        (``BEGIN`` and ``COMMIT`` would be two more). See :mod:`loft.db.engine`."""
        async with self._connection(writing=True, begun=False) as conn:
            return await fenced(work(Single(conn)), conn)

    async def submit_item(self, work: BatchWork[I, T], item: I) -> T:
        """``item`` in the next batch of ``work`` (see the module's docstring): its result once committed."""
        return await self.submit_later(work, item)

    async def run_batch(self, work: BatchWork[I, T], items: list[I]) -> list[T | Exception]:
        """Run ``work`` for ``items`` in one write transaction, held to the contract of batch works (see
        :mod:`loft.db.engine`): each item's result once it is committed, or its exception.

        If the work fails some items, the transaction is rolled back (with whatever the work wrote for them) and
        the work runs again, in a new one, for the others, until it fails none: each run has fewer items. If it
        raises (on PostgreSQL a failed statement spoils the whole transaction), each item runs alone and fails
        alone; the exception of an item alone is what :meth:`write` raised. When that is
        :class:`DatabaseUnavailable` (down, unreachable, too slow), every item fails with it at once: alone, each
        would wait out the same timeouts in turn."""
        results: list[T | Exception | None] = [None] * len(items)
        pending = list(range(len(items)))
        while pending:
            got: list[T | Exception] = []
            try:
                async with self.write() as conn:
                    got = await fenced(work(conn, [items[index] for index in pending]), conn)
                    if len(got) != len(pending):
                        raise RuntimeError(f"{work!r} gave {len(got)} results for {len(pending)} items")
                    if any(isinstance(result, Exception) for result in got):
                        raise _RolledBack  # within the block: nothing of this run is committed
            except _RolledBack:
                for index, result in zip(pending, got):
                    if isinstance(result, Exception):
                        results[index] = result
                pending = [index for index, result in zip(pending, got) if not isinstance(result, Exception)]
                continue
            except Exception as exc:
                if len(pending) == 1 or isinstance(exc, DatabaseUnavailable):
                    # (unavailable: each item alone would wait out the same timeouts, one after the other)
                    for index in pending:
                        results[index] = exc
                else:
                    for index in pending:
                        results[index] = (await self.run_batch(work, [items[index]]))[0]
                return results  # type: ignore[return-value]  # every one set
            for index, result in zip(pending, got):
                results[index] = result
            break
        return results  # type: ignore[return-value]

    def submit_later(self, work: BatchWork[I, T], item: I) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(work, []).append((item, future))
        if self._running.get(work, 0) < IN_FLIGHT:
            self._running[work] = self._running.get(work, 0) + 1
            task = asyncio.get_running_loop().create_task(self._drain(work))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)
        return future

    async def _drain(self, work: BatchWork[Any, Any]) -> None:
        """Run batches of ``work`` while items wait for it (a caller cancelled before its batch began is left out;
        one cancelled after, has its item committed). A batch the database could not run fails the items waiting
        behind it too."""
        try:
            while waiting := self._waiting.get(work):
                batch = [(item, future) for item, future in waiting[:MAX_BATCH] if not future.cancelled()]
                del waiting[:MAX_BATCH]
                if not batch:
                    continue
                try:
                    results = await self.run_batch(work, [item for item, _ in batch])
                except BaseException as exc:  # only a bug (run_batch answers each item) or the loop's end
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                    raise
                for (_, future), result in zip(batch, results):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                if results and all(isinstance(result, DatabaseUnavailable) for result in results):
                    # The items that waited for this batch waited out its timeouts too: they fail with it, rather
                    # than wait out the same timeouts again in the next batch (a request's wait stays one).
                    for _, future in self._waiting.pop(work, []):
                        if not future.done():
                            future.set_exception(results[0])
        finally:
            self._running[work] -= 1
            if not self._running[work]:
                del self._running[work]
                if not self._waiting.get(work):
                    self._waiting.pop(work, None)

    def read(self) -> AbstractAsyncContextManager[Conn]:
        return self._connection(writing=False, begun=True)

    @asynccontextmanager
    async def read_single(self) -> AsyncIterator[Conn]:
        async with self._connection(writing=False, begun=False) as conn:
            yield Single(conn)

    async def _ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrate(self) -> None:
        """Through a connection of its own without the statement timeout: a migration may take long (an index on
        a large table), and waiting for another process's migration takes as long as it does."""
        migrating = create_async_engine(self.url, poolclass=NullPool,
                                        connect_args={"timeout": self._connect_timeout})
        try:
            async with migrating.connect() as conn, conn.begin():
                await conn.execute(text("SELECT pg_advisory_xact_lock(7406110)"))
                await conn.run_sync(upgrade)
        finally:
            await migrating.dispose()

    async def dispose(self) -> None:
        if self._batches:  # batches under way end (their callers answered) before the pool goes
            await asyncio.gather(*self._batches, return_exceptions=True)
        self.health.close()
        await self._async.dispose()


def _unnested(statement: Prepared, rows: Sequence[Mapping[str, Any]], dialect: Dialect
              ) -> tuple[Prepared, dict[str, Any]] | None:
    """A one-row ``INSERT INTO table [RETURNING …]`` of many ``rows`` (all with the same keys) as one statement of
    any number of rows: one round trip for the rows of a batch, and one prepared statement per table and set of
    columns whatever their number (where ``VALUES (…), (…)`` needs one per number of rows, and asyncpg's cache
    keeps none beyond 15 KiB of SQL). None for fewer than two rows, for a statement that is not such an
    ``INSERT``, or one that leaves out a column whose default Python computes (run row by row).

    The rows travel as one JSON document, an array of each row's values (:func:`_recordset`), when every column is
    of a type JSON carries as it is (:data:`_CARRIED`); else as a list of values per column, ``SELECT * FROM
    unnest($1::a_type[], $2::b_type[])`` (:func:`_unnest`). Both cost about the same in all: asyncpg encodes an
    array value by value (about a microsecond each, two for a timestamp) where orjson writes a batch's document
    at once, and PostgreSQL spends a little more reading the document back (``python -m bench.batch_cost``: a
    message, its job and its two callbacks' attempts, 169–180 µs of CPU as a document, 170–181 as arrays, Loft's
    and the backend's together)."""
    insert_of = statement.statement
    if len(rows) < 2 or not isinstance(insert_of, Insert) or not isinstance(insert_of.table, Table):
        return None
    if insert_of.select is not None or private.has_values(insert_of):
        return None
    keys = tuple(rows[0])
    table = insert_of.table
    if any(column.default is not None and column.key not in keys for column in table.columns):
        return None
    returning = tuple(column["expr"] for column in insert_of.returning_column_descriptions)
    if _carried(table, keys):
        return _recordset(table, keys, returning), {"rows": _document(table, keys, rows, dialect)}
    return _unnest(table, keys, returning), {key: [row[key] for row in rows] for key in keys}


@lru_cache(maxsize=None)
def _unnest(table: Table, keys: tuple[str, ...], returning: tuple[Any, ...]) -> Prepared:
    given = func.unnest(*(bindparam(key, type_=ARRAY(unbounded(table.c[key].type), dimensions=1))
                          for key in keys)).alias("given")
    many = insert(table).from_select(keys, select(literal_column("*")).select_from(given), include_defaults=False)
    return Prepared(many.returning(*returning) if returning else many)


#: Column types whose values a JSON document carries to PostgreSQL unchanged: orjson writes them (a timestamp in
#: ISO 8601 with its offset, a naive one as UTC, as asyncpg takes it), and PostgreSQL reads their text back as
#: the column's type (:func:`_typed`). A JSON column's value goes as the text SQLAlchemy would send (its
#: serializer's: ``None`` is JSON ``null``, not SQL ``NULL``), cast back to JSON.
_CARRIED: tuple[type, ...] = (String, Integer, Boolean, DateTime, JSON)


@lru_cache(maxsize=None)
def _carried(table: Table, keys: tuple[str, ...]) -> bool:
    """Whether a JSON document can carry every column of ``keys`` (:data:`_CARRIED`)."""
    return all(isinstance(table.c[key].type, _CARRIED) for key in keys)


@lru_cache(maxsize=None)
def _recordset(table: Table, keys: tuple[str, ...], returning: tuple[Any, ...]) -> Prepared:
    """``INSERT INTO table (a, b) SELECT given.value ->> 0, CAST(given.value ->> 1 AS TIMESTAMPTZ) FROM
    jsonb_array_elements(CAST($1 AS JSONB)) AS given``: a row per element of the document, a column per position
    in it (:func:`_document`).

    ``jsonb``, not ``json``, and positions, not keys: PostgreSQL 15 reads a string of a document character by
    character, so the document is read once (``json_to_recordset`` reads a ``json`` value twice, once to check
    it and once to take its rows apart) and holds no column names (a third of a message's row). Reading 32 webhook
    attempts took a third less of the backend's CPU than with ``json_to_recordset``; end to end (``python -m bench
    --only e2e-pg``), PostgreSQL's backends went from 0.104–0.119 ms per message to 0.091–0.092."""
    document = cast(bindparam("rows", type_=Text()), JSONB())
    given = func.jsonb_array_elements(document).table_valued("value").render_derived(name="given")
    values = [_typed(given.c.value.op("->>")(literal_column(str(position))), table.c[key].type)
              for position, key in enumerate(keys)]
    many = insert(table).from_select(keys, select(*values), include_defaults=False)
    return Prepared(many.returning(*returning) if returning else many)


def _typed(value: Any, type_: Any) -> Any:
    """A document's ``value`` (``->>``: its text, SQL ``NULL`` for JSON ``null``) as a column of ``type_`` takes
    it: text as it is, anything else cast."""
    return value if isinstance(type_, String) else cast(value, unbounded(type_))


def _document(table: Table, keys: tuple[str, ...], rows: Sequence[Mapping[str, Any]], dialect: Dialect) -> str:
    """``rows`` as the JSON document of :func:`_recordset`: an array per row of its values in the order of
    ``keys``, each converted as SQLAlchemy converts it for this column (a JSON column's into its JSON text, a
    boolean's into a ``bool``)."""
    converted = _converters(table, keys, dialect)
    if converted:
        rows = [_converted(row, converted) for row in rows]
    values = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    return orjson.dumps([values(row) for row in rows], option=orjson.OPT_NAIVE_UTC).decode()


def _converted(row: Mapping[str, Any], converted: tuple[tuple[str, Callable[[Any], Any]], ...]) -> dict[str, Any]:
    made = dict(row)
    for key, process in converted:
        made[key] = process(made[key])
    return made


@lru_cache(maxsize=256)  # (per engine's dialect: one in a server, one per test's engine in the tests)
def _converters(table: Table, keys: tuple[str, ...], dialect: Dialect) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """What converts each of ``keys`` that SQLAlchemy converts, as prepared statements bind it (a JSON column's
    empty object or list made into its text once: most rows hold one)."""
    return tuple((key, process) for key in keys
                 if (process := bind_processor(table.c[key].type.dialect_impl(dialect), dialect)) is not None)
