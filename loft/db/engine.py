"""The database handle that services see: write/read transactions, submitted works, migrations on start.

Services run statements on a :class:`Conn`, and get transactions from a :class:`Database`, which hides how each
backend is driven. :func:`open_database` picks the backend from the URL:

- **SQLite** (:mod:`loft.db.sqlite`): the standard ``sqlite3`` module on the event loop's thread, writers
  sharing transactions by group commit.
- **PostgreSQL** (:mod:`loft.db.postgres`): asyncpg, under SQLAlchemy's async engine and straight on the hot
  path; any number of transactions at once.

What this module holds is what both share: the interfaces, the contract of submitted works, and migrations.

**The contract of submitted works** (:meth:`Database.submit`, :meth:`Database.submit_item`), which both backends
enforce, so that a work written against one cannot quietly break on the other:

- *A work awaits nothing but statements on its conn.* On SQLite the works of a group run back to back on the
  loop's thread, one task holding the file for all of them: a work that waited for anything else (a lock, a
  sleep, the network) would hold every writer of the process, and of the others. A work's coroutine is driven by
  the engine, which checks each suspension: on SQLite there must be none at all (its statements never suspend);
  on PostgreSQL each must happen inside a statement (:func:`statement` marks the methods of a :class:`Conn` that
  may suspend). Any other raises :class:`ForbiddenAwait` at the await, in production as in tests: the check costs
  a few instructions per suspension, and a work that waits is a bug that must not pass on PostgreSQL because it
  would only hurt on SQLite.
- *An item that fails leaves nothing behind.* A batch work returns an exception for an item it fails; whatever it
  wrote meanwhile is rolled back with the rest of the batch, which is run again for the items that succeeded (on
  SQLite, in a fresh savepoint; on PostgreSQL, where each item has a transaction of its own, the item's
  transaction is rolled back). So a work may be run more than once for one item: it must have no effect but its
  statements, and leave its items as it found them.

**Works of one statement** (:meth:`Database.submit_single`, :meth:`Database.read_single`): a statement is atomic by
itself, so PostgreSQL runs it as a transaction of its own, without ``BEGIN`` and ``COMMIT`` around it: one round trip
where a transaction takes three (a claim, a renewal, a read of the simulator's clock: most of a worker's small
transactions, and one of every three statements of many processes on one database). The work is held to it on
both databases: a second statement fails with :class:`SecondStatement`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar, overload

import orjson
from sqlalchemy import Connection, CursorResult, text
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.base import Executable

from loft.db.health import Health
from loft.db.prepared import Plan, Prepared, Rows
from loft.db.private import ExecuteParams
from loft.errors import DatabaseUnavailable

log = logging.getLogger("loft.db")
_MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL: seconds to open a connection, or to wait for one of the pool's (LOFT_DATABASE_CONNECT_TIMEOUT).
CONNECT_TIMEOUT = 5.0
#: PostgreSQL: seconds to wait for the answer to a statement (LOFT_DATABASE_STATEMENT_TIMEOUT).
STATEMENT_TIMEOUT = 10.0

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
#: What :meth:`Database.submit` runs: statements on the connection it is given, and nothing that waits.
Work = Callable[["Conn"], Awaitable[T]]
#: What :meth:`Database.submit_item` runs: the same, for many items at once; one result per item, in order, an
#: exception for an item that failed (for which it wrote nothing).
BatchWork = Callable[["Conn", list[I]], Awaitable[list[T | Exception]]]
C = TypeVar("C", bound="Conn")
P = ParamSpec("P")


class ForbiddenAwait(RuntimeError):
    """A submitted work awaited something other than a statement on its conn (see the module's docstring)."""


class SecondStatement(RuntimeError):
    """A work of one statement (:meth:`Database.submit_single`, :meth:`Database.read_single`) ran a second one."""


class Conn:
    """A connection inside a transaction: what services run their statements on."""

    __slots__ = ("dialect", "statements", "hooks")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        #: Statements of this connection under way (see :func:`statement`): a work may be suspended only while
        #: one is.
        self.statements = 0
        #: What :meth:`after_commit` was given, in order (the engine drops what a rolled-back work gave).
        self.hooks: list[Callable[[], None]] = []

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once what this work wrote is committed; never if it is rolled back (a failed work, an
        item its batch failed, a run of a batch that failed some other item, a lost transaction). For what
        must happen once per committed change and cannot be undone, such as counting it in a metric: counted
        inside a work, a batch run again would count it twice. Hooks run on the event loop's thread, must not
        block, and what they raise is logged, never given to the work's caller (whose work is committed)."""
        self.hooks.append(hook)

    def notify_after_commit(self, channel: str) -> None:
        """Tell the processes listening on ``channel`` once this work is committed: on PostgreSQL a ``NOTIFY``
        that the database sends apart from this transaction (see :meth:`PostgresDatabase.notify`); on SQLite,
        nothing (its processes share one machine and are woken through ``loft serve``'s pipes)."""

    @overload
    async def execute(self, statement: Prepared, parameters: ExecuteParams | None = None) -> Rows: ...

    @overload
    async def execute(self, statement: Executable, parameters: ExecuteParams | None = None
                      ) -> CursorResult[Any]: ...

    async def execute(self, statement: Executable | Prepared, parameters: Any = None) -> Any:
        raise NotImplementedError

    async def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run ``statement`` once per set of parameters in ``rows`` (all with the same names); how many rows they
        changed in all. (Results of a ``RETURNING`` are not kept: use one statement of many rows for those.)"""
        changed = 0
        for parameters in rows:
            changed += max(0, (await self.execute(statement, parameters)).rowcount)
        return changed

    async def insert_rows(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run a one-row ``INSERT … RETURNING`` for each of ``rows`` (all with the same names); what ``RETURNING``
        gives for all of them, in no particular order. Both databases write all the rows in one statement (SQLite
        as ``VALUES (…), (…)``, PostgreSQL with a list per column: ``loft.db.postgres``), which
        :meth:`execute_many` does too for a one-row ``INSERT``."""
        returned: list[Any] = []
        for parameters in rows:
            returned.extend((await self.execute(statement, parameters)).all())
        return returned

    def _plan(self, statement: Prepared, parameters: Any) -> Plan | None:
        """How to run ``statement`` on the driver with one set of ``parameters``; None: through SQLAlchemy."""
        if parameters is None or isinstance(parameters, Mapping):
            return statement.plan(self.dialect, tuple(parameters) if parameters else ())
        return None

    async def run_sync(self, fn: Callable[[Connection], Any]) -> Any:
        """Run ``fn`` with the underlying synchronous connection (e.g. Alembic's migrations)."""
        raise NotImplementedError


class Single(Conn):
    """The conn of a work of one statement: ``inner``, for one call of :meth:`execute`, :meth:`insert_rows` or
    :meth:`execute_many` (each is one statement: ``loft.db.postgres`` and ``loft.db.sqlite`` write the rows of one
    call together); any other call raises :class:`SecondStatement`, before it reaches the database."""

    __slots__ = ("_inner", "_ran")

    def __init__(self, inner: Conn) -> None:
        super().__init__(inner.dialect)
        self._inner = inner
        self._ran = False
        self.hooks = inner.hooks

    def _one(self) -> None:
        if self._ran:
            raise SecondStatement("a work of one statement (submit_single, read_single) ran a second one")
        self._ran = True

    def notify_after_commit(self, channel: str) -> None:
        self._inner.notify_after_commit(channel)

    async def execute(self, statement: Executable | Prepared, parameters: Any = None) -> Any:
        self._one()
        return await self._inner.execute(statement, parameters)

    async def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> int:
        self._one()
        return await self._inner.execute_many(statement, rows)

    async def insert_rows(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        self._one()
        return await self._inner.insert_rows(statement, rows)

    async def run_sync(self, fn: Callable[[Connection], Any]) -> Any:
        raise SecondStatement("a work of one statement cannot run a function on the connection")


def run_hooks(hooks: list[Callable[[], None]]) -> None:
    """Call the :meth:`Conn.after_commit` hooks of a committed transaction (and forget them)."""
    for hook in hooks:
        try:
            hook()
        except Exception:
            log.exception("a hook run after a commit failed")
    hooks.clear()


def statement(method: Callable[Concatenate[C, P], Awaitable[T]]
              ) -> Callable[Concatenate[C, P], Coroutine[Any, Any, T]]:
    """Mark a coroutine method of a :class:`Conn` as a statement: a submitted work may be suspended inside it
    (waiting for the database's answer), and nowhere else. Every method of a connection class that may suspend
    must be marked; a test holds each backend's to it."""

    @functools.wraps(method)
    async def run(self: C, /, *args: P.args, **kwargs: P.kwargs) -> T:
        self.statements += 1
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.statements -= 1

    run.is_statement = True  # type: ignore[attr-defined]
    return run


def fenced(step: Awaitable[T], conn: Conn) -> Awaitable[T]:
    """``step`` (a work's coroutine), failing with :class:`ForbiddenAwait` at the first await that suspends it
    outside a statement of ``conn``."""
    return _Fenced(step, conn)


class _Fenced:
    """Drives a work's coroutine as ``await`` would (what it yields goes to the event loop, what the loop sends
    or throws goes back to it), checking at each suspension that a statement of the conn is under way."""

    __slots__ = ("_step", "_conn")

    def __init__(self, step: Awaitable[Any], conn: Conn) -> None:
        self._step = step
        self._conn = conn

    def __await__(self) -> Generator[Any, Any, Any]:
        steps = self._step.__await__()
        conn = self._conn
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                waited = steps.send(sent) if thrown is None else steps.throw(thrown)
            except StopIteration as finished:
                return finished.value
            if not conn.statements:
                refuse(steps, waited)
            try:
                sent, thrown = (yield waited), None
            except BaseException as exc:  # cancelled, say: to the work, as await would
                sent, thrown = None, exc


def refuse(steps: Generator[Any, Any, Any], waited: Any) -> NoReturn:
    """Fail a work suspended outside a statement, waiting for ``waited``: :class:`ForbiddenAwait` is raised in
    it where it awaited (so that its traceback shows where), and it is closed."""
    error = ForbiddenAwait(f"a submitted work waited for {waited!r}: it may only run statements on its conn")
    try:
        steps.throw(error)
    except StopIteration:
        pass  # it swallowed the error and returned: it fails all the same
    finally:
        steps.close()
    raise error


class Database(ABC):
    """The database of a process. Its errors that say "not now" (see :func:`loft.db.outages.outage`) come out of
    every transaction as :class:`DatabaseUnavailable`, and :attr:`health` hears when one succeeds again."""

    #: True for SQLite (one writer at a time, group commit), False for PostgreSQL.
    is_sqlite: bool

    def __init__(self, url: str) -> None:
        self.url = url
        self.health = Health()
        self._pinging: asyncio.Future[None] | None = None  # the check of ping() under way
        #: Where the notifications asked for on a channel go instead (see :meth:`route_notifications`).
        self._routes: dict[str, Callable[[], Awaitable[str]]] = {}

    def route_notifications(self, channel: str, pick: Callable[[], Awaitable[str]]) -> None:
        """Send each notification asked for on ``channel`` (:meth:`Conn.notify_after_commit`) to the channel that
        ``pick()`` answers when it is sent: one listener among several that each listen on a channel of their own
        (:mod:`loft.delivery.wakeups`). ``pick`` must not fail. Nothing changes on SQLite, which notifies nobody."""
        self._routes[channel] = pick

    @abstractmethod
    def write(self) -> AbstractAsyncContextManager[Conn]:
        """A transaction that is committed when the block ends without an exception, and rolled back otherwise."""

    @abstractmethod
    async def submit(self, work: Work[T]) -> T:
        """Run ``work(conn)`` in a write transaction; what it returns, once that transaction is committed.

        ``work`` must only run statements on ``conn``: on SQLite, anything else it awaited would hold every other
        writer of the process. A work that raises takes back only its own statements, and its caller gets the
        exception at once. A caller cancelled before its work ran leaves nothing written; one cancelled after,
        leaves it committed.
        """

    @abstractmethod
    async def submit_item(self, work: BatchWork[I, T], item: I) -> T:
        """Run ``work(conn, items)`` for ``item`` with the other items submitted to the same ``work`` meanwhile
        (where the backend groups them), in one write transaction; this item's result once it is committed (its
        exception, if it failed).

        One call for many items turns their statements into a few set-wise ones (``IN`` lists, many rows per
        ``INSERT``) where a work per item would run them all. ``work`` is held to what :meth:`submit` holds its
        works to, and must write nothing for an item it fails; if it raises, each item is run alone (and fails
        alone).
        """

    @abstractmethod
    def submit_later(self, work: BatchWork[I, T], item: I) -> asyncio.Future[T]:
        """:meth:`submit_item` without waiting: the future of its result (for callers that keep no task). Its
        errors are the database's own, untranslated: see :func:`loft.db.outages.outage`."""

    async def submit_single(self, work: Work[T]) -> T:
        """:meth:`submit` for a work that runs one statement (see the module's docstring): on PostgreSQL without
        ``BEGIN`` and ``COMMIT`` around it. A second statement raises :class:`SecondStatement` in the work."""
        return await self.submit(lambda conn: work(Single(conn)))

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[Conn]:
        """A read-only transaction: one consistent snapshot."""

    @asynccontextmanager
    async def read_single(self) -> AsyncIterator[Conn]:
        """:meth:`read` for one statement (see the module's docstring): on PostgreSQL without ``BEGIN`` and
        ``COMMIT`` around it. A second statement raises :class:`SecondStatement`."""
        async with self.read() as conn:
            yield Single(conn)

    @abstractmethod
    async def migrate(self) -> None:
        """Bring the schema to the newest revision; concurrent starters take turns."""

    @abstractmethod
    async def dispose(self) -> None:
        """Close every connection, after what is under way has finished."""

    async def ping(self, *, within: float) -> None:
        """Check that the database answers within ``within`` seconds (:class:`DatabaseUnavailable` if it does not):
        on PostgreSQL a ``SELECT 1``; on SQLite a write transaction that writes nothing, as a file that refuses
        writes (read-only, full, locked by another program) still answers reads.

        Callers while a check runs share it, and one that gives up waiting leaves it running (a transaction
        cancelled half-way could leave a connection to the pool in an unknown state): checks never pile up."""
        if self._pinging is None:
            self._pinging = asyncio.ensure_future(self._ping())
            self._pinging.add_done_callback(self._pinged)
        try:
            await asyncio.wait_for(asyncio.shield(self._pinging), within)
        except TimeoutError:
            raise DatabaseUnavailable(f"no answer to a check within {within:g} s", writing=self.is_sqlite
                                      ) from None

    @abstractmethod
    async def _ping(self) -> None: ...

    def _pinged(self, ping: asyncio.Future[None]) -> None:
        self._pinging = None
        if not ping.cancelled():
            ping.exception()  # told to whoever still waited for it


def open_database(url: str, *, sqlite_synchronous: str = "FULL", connect_timeout: float = CONNECT_TIMEOUT,
                  statement_timeout: float = STATEMENT_TIMEOUT, pool_size: int | None = None) -> Database:
    """The database at ``url`` (``sqlite:///…`` or ``postgresql+asyncpg://…``); no connection is opened yet.
    ``sqlite_synchronous`` is SQLite's (LOFT_SQLITE_SYNCHRONOUS), the timeouts and the pool's size PostgreSQL's."""
    if url.startswith("sqlite"):
        from loft.db.sqlite import SqliteDatabase  # each backend imports only what it needs

        return SqliteDatabase(url, synchronous=sqlite_synchronous)
    from loft.db.postgres import PostgresDatabase

    return PostgresDatabase(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout,
                            pool_size=pool_size)


async def nothing(conn: Conn) -> None:
    """A work that writes nothing (a check that a write transaction can begin and commit)."""
    await conn.execute(text("SELECT 1"))


def first_of(work: BatchWork[Any, Any], item: Any) -> Work[Any]:
    """A batch work for one item, as a work: its one result, an exception returned rather than raised."""

    async def alone(conn: Conn) -> Any:
        return (await work(conn, [item]))[0]

    return alone


def json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def upgrade(connection: Connection) -> None:
    """Run Alembic's migrations to the newest revision on ``connection`` (inside the caller's transaction)."""
    # Imported here: only the process that migrates needs Alembic (~10 MB of memory in every other one).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
