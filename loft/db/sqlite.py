"""SQLite: the standard ``sqlite3`` module (SQLAlchemy's sync engine), on the event loop's thread.

SQLite answers a statement on a local file in microseconds; handing each one to a thread and back (what an
async driver does) costs far more than the work. Only what may wait goes to a thread: ``COMMIT`` with EXTRA,
the flush of the write-ahead log with FULL (an ``fsync``) unless the disk flushes in a fraction of a millisecond
(:data:`FLUSH_ON_LOOP_BELOW`), and ``BEGIN IMMEDIATE`` when another process holds the write lock
(it is first tried without waiting).

SQLite allows one writer at a time, so Loft's writers share it by **group commit**: within a process, writers
take turns on an ``asyncio.Lock``; each runs its block inside a ``SAVEPOINT`` of one open ``BEGIN IMMEDIATE``
transaction, and the writer that finds nobody queued behind it commits the whole group with one ``COMMIT``.
A writer's ``write()`` returns only once its group is committed, so an answer sent after it is durable; a block
that fails rolls back to its savepoint and leaves the others' work alone. Across processes (``loft serve
--processes N``, ``loft worker``), groups take turns on an ``flock`` of ``<database>-writer``: a process waiting
for its turn sleeps in the kernel and is woken the moment the other's ``COMMIT`` is done, where SQLite's own
busy handler polls with sleeps of up to 100 ms. ``BEGIN IMMEDIATE`` still guards the file against writers that
take no turn (another program), which queue on the database lock instead of failing half-way. Reads run
beside a writer thanks to WAL, and the log is copied into the database file (checkpointed) by a thread of its
own once a second while writes go on, never inside a commit; the last frames are copied between two groups, so
that the next group writes the log from its start again: the log holds about a second of writes, however long
they go on.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.base import Executable

from loft.db import files
from loft.db import outages as unavailability
from loft.db.engine import (
    BatchWork,
    Conn,
    Database,
    I,
    T,
    Work,
    first_of,
    json_dumps,
    nothing,
    refuse,
    run_hooks,
    upgrade,
)
from loft.db.prepared import Prepared
from loft.db.turns import NoTurns, Turns

#: Seconds between checkpoints of SQLite's write-ahead log while writes go on (see ``SqliteDatabase._checkpoint``).
CHECKPOINT_EVERY = 1.0
#: How long the checkpoint that ends a log waits for readers and other processes' writers (seconds) before it
#: leaves the log to grow until the next one: the writers of this process wait for it meanwhile.
RESTART_WAIT = 0.02  # SQLite's busy handler sleeps 1, 2, 5, 10 ms: four looks
#: The write-ahead log's file is cut back to this size after a burst (SQLite reuses it rather than truncating).
WAL_SIZE_LIMIT = 64 * 1024 * 1024
#: Checkpoint passes beside the writers at most, before the one between two groups; and the number of frames
#: (pages) below which one more pass is not worth it.
PASSES = 4
CLOSE_ENOUGH = 256
_WRITE = "loft_write"
#: How long a writer waits for another process's write lock before "database is locked" (milliseconds).
BUSY_TIMEOUT_MS = 30_000
#: Prepared statements each connection keeps (sqlite3's default: 128). A batch's one-statement INSERT has a text
#: per number of rows (messages, the outbox, the handsets' inbox: up to a group's size each), beside Loft's other
#: hot statements; one pushed out is prepared again, at a cost of tens of microseconds.
CACHED_STATEMENTS = 512
#: A flush of the write-ahead log (FULL) runs on the loop's thread while the disk's recent flushes took less than
#: this (seconds), and on a thread otherwise. The hop to a thread and back costs more than such a flush: under
#: load the thread and the loop pass the interpreter's lock back and forth at each of the next group's
#: statements (``sqlite3`` lets go of it around each step): about 12 µs of CPU per create (144 → 132 µs) on the
#: bench machine, whose disk flushes in 0.1-0.6 ms under load. A disk that takes longer (or stalls once) gets the
#: thread, and the loop goes on meanwhile. See ``SqliteDatabase._flush_log``.
FLUSH_ON_LOOP_BELOW = 0.0005
#: How fast the memory of a slow flush fades: each flush since weighs it by this factor once more.
FLUSH_MEMORY = 0.75
#: A group commits at the latest after this many writers, to bound the wait of its first one.
MAX_GROUP = 256
_ALONE = object()  # the item of a plain work

#: ``sqlite3`` binds only an exact ``int``, ``float``, ``str`` or ``bytearray`` straight away; any other value, ``None``
#: included, goes through its adaptation protocol, which first looks for an adapter registered for the value's
#: type, then asks its ``PrepareProtocol`` class for ``__adapt__``: a lookup that fails, raising an
#: ``AttributeError`` whose message is formatted and then dropped, for every NULL of every row (a new message
#: has five; about 2.5 % of a create's instructions, measured with callgrind). An adapter registered for ``None``
#: is found first. It is a C function (a bound ``dict.get``: ``None`` for any one argument), so no Python frame is
#: made either, and ``None`` is bound as NULL as before. (It holds process-wide, for every ``sqlite3``
#: connection: it changes nothing but the cost.)
sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))


class SqliteConn(Conn):
    """A connection inside a transaction (or a group's savepoint). Its statements run to their end without
    suspending: a submitted work on it is never suspended at all (see :func:`_to_the_end`)."""

    __slots__ = ("_sync",)

    def __init__(self, sync: Connection) -> None:
        super().__init__(sync.dialect)
        self._sync = sync

    async def execute(self, statement: Executable | Prepared, parameters: Any = None) -> Any:
        if isinstance(statement, Prepared):
            plan = self._plan(statement, parameters)
            if plan is not None:
                return plan.run(self._sync.connection.dbapi_connection, parameters)  # type: ignore[arg-type]
            statement = statement.statement
        return self._sync.execute(statement, parameters)

    async def insert_rows(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        plan = self._plan(statement, rows[0]) if len(rows) > 1 else None
        if plan is None or not plan.takes_rows:
            return await super().insert_rows(statement, rows)
        return plan.run_rows(self._sync.connection.dbapi_connection, rows).all()  # type: ignore[arg-type]

    async def execute_many(self, statement: Prepared, rows: Sequence[Mapping[str, Any]]) -> int:
        plan = self._plan(statement, rows[0]) if rows else None
        if plan is None or plan.row is not None:
            return await super().execute_many(statement, rows)
        raw = self._sync.connection.dbapi_connection
        if len(rows) > 1 and plan.takes_rows:
            # One statement for all the rows, as on PostgreSQL: one step of SQLite's program rather than one per
            # row, and a table with AUTOINCREMENT (the outbox) updates its counter once.
            return plan.run_rows(raw, rows).rowcount  # type: ignore[arg-type]
        return plan.run_many(raw, rows)  # type: ignore[arg-type]

    async def run_sync(self, fn: Callable[[Connection], Any]) -> Any:
        return fn(self._sync)



@dataclass(eq=False)
class _Group:
    """Writers sharing one SQLite transaction; ``committed`` resolves when its ``COMMIT`` is done."""

    sync: Connection
    conn: SqliteConn
    raw: Any  # the sqlite3 connection under ``sync``: savepoints go straight to it
    committed: asyncio.Future[None]
    outages: int  # Health.outages when it began
    changes: int  # rows its connection had written when it began
    writers: int = 0
    #: Works run in the group, with their results: given to their callers once it is committed (see _tell).
    done: list[tuple[asyncio.Future[Any], Any]] = field(default_factory=list)




class SqliteDatabase(Database):
    """A SQLite database file (or one in memory): group commit within the process, turns across processes."""

    is_sqlite = True

    def __init__(self, url: str, *, synchronous: str = "FULL") -> None:
        super().__init__(url)
        self._writer = asyncio.Lock()
        self._group: _Group | None = None
        self._queued = 0  # writers waiting for the lock
        self._tasks: set[asyncio.Task[None]] = set()  # commits and flushes running on their own
        #: Waiting for the next run: (work, its item or _ALONE, the caller's future).
        self._submitted: list[tuple[Any, Any, asyncio.Future[Any]]] = []
        self._running: asyncio.Task[None] | None = None  # the task that runs them
        # Connections kept open between transactions (a pool checkout costs more than a short read):
        self._readers: list[Connection] = []
        self._writers: list[Connection] = []  # marked for BEGIN IMMEDIATE
        self._file: str | None = None  # the database file (None in memory)
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointed_at = float("-inf")
        self.checkpoints = 0  # checkpoints run (for tests and curious operators)
        self._turns: Turns | NoTurns = NoTurns()
        #: FULL on a file: Loft itself makes the log durable after each COMMIT (see _finish), not SQLite within it.
        self._syncs_log = False
        self._unsynced: list[_Group] = []  # committed, on their way to the disk
        self._syncing: asyncio.Task[None] | None = None
        #: What the disk's flushes take (seconds): the slowest one timed lately, fading (see _flush_log).
        self.flush_seconds = 0.0
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            files.prepare(path)  # the files 0600, before SQLite makes any
            self._file = path
            self._turns = Turns(path + "-writer")
            if synchronous == "FULL":
                self._syncs_log, synchronous = True, "NORMAL"
        # A COMMIT that waits for no disk writes the log with a few calls to the kernel: quicker on the loop's
        # thread than a hop to a thread and back, which holds the turn to write meanwhile (see _finish).
        self._commits_on_loop = self._file is None or synchronous in ("NORMAL", "OFF")
        # Reads hold a connection across awaits: the pool must never make the loop's thread wait for one.
        self._sqlite = create_engine(f"sqlite:///{path}", pool_size=8, max_overflow=-1, hide_parameters=True,
                                     connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False,
                                                   "cached_statements": CACHED_STATEMENTS},
                                     json_serializer=json_dumps, json_deserializer=orjson.loads)
        _sqlite_transactions(self._sqlite, synchronous)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        try:
            self._queued += 1
            try:
                await self._writer.acquire()
            except BaseException:
                self._queued -= 1
                self._flush_later()
                raise
            self._queued -= 1
            try:
                if self._group is None:
                    self._group = await self._open_group()
                group = self._group
                whole = False  # the group's transaction is still open, this writer's savepoint undone or released
                try:
                    group.raw.execute("SAVEPOINT loft_writer")
                    hooked = len(group.conn.hooks)
                    try:
                        yield group.conn
                    except BaseException:
                        whole = _undo(group, "loft_writer", hooked)
                        raise
                    group.raw.execute("RELEASE loft_writer")
                    whole = True
                except BaseException as exc:
                    if not whole:
                        self._abandon(exc)
                    raise
                group.writers += 1
            finally:
                try:
                    if self._group is not None and (self._queued == 0 or self._group.writers >= MAX_GROUP):
                        await self._commit_group()
                finally:
                    self._writer.release()
            await asyncio.shield(group.committed)
        except Exception as exc:
            raise unavailability.translated(exc, writing=True)

    async def submit(self, work: Work[T]) -> T:
        """Run ``work(conn)`` in a write transaction; what it returns, once that transaction is committed.

        What :meth:`write` does for a block, for a function: on SQLite, the works submitted while a group runs
        are run back to back, each in its savepoint, by one task, and committed together. A block of
        :meth:`write` runs in its caller's task, which the loop resumes only after whatever else is ready to
        run, so a group of blocks is held open (and other processes kept waiting for their turn) while requests
        are parsed and answered in between; a group of works holds the file for its statements and its COMMIT.
        ``work`` must only run statements on ``conn``: anything else it awaited would hold the whole group.

        A work that raises takes back only its own statements, and its caller gets the exception at once. A
        caller cancelled before its work ran leaves nothing written; one cancelled after, leaves it committed.
        """
        try:
            result: T = await self._submit(work, _ALONE)
        except Exception as exc:
            raise unavailability.translated(exc, writing=True)
        return result

    async def submit_item(self, work: BatchWork[I, T], item: I) -> T:
        """Run ``work(conn, items)`` for ``item`` with the other items submitted to the same ``work`` meanwhile,
        in one write transaction; this item's result once it is committed (its exception, if it failed).

        One call for many items turns their statements into a few set-wise ones (``IN`` lists, many rows per
        ``INSERT``) where a work per item would run them all. ``work`` is held to what :meth:`submit` holds its
        works to, and must write nothing for an item it fails; if it raises, each item is run alone (and fails
        alone).
        """
        try:
            mine: T = await self._submit(work, item)
        except Exception as exc:
            raise unavailability.translated(exc, writing=True)
        return mine

    def submit_later(self, work: BatchWork[I, T], item: I) -> asyncio.Future[T]:
        """:meth:`submit_item` without waiting: the future of its result (for callers that keep no task). Its
        errors are the database's own, untranslated: see :func:`loft.db.outages.outage`."""
        return self._submit(work, item)

    def _submit(self, work: Any, item: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._submitted.append((work, item, future))
        if self._running is None:
            self._running = self._spawn(self._run_submitted())
        return future

    async def _run_submitted(self) -> None:
        """Run the submitted works in groups until none is left (see :meth:`submit`). Their callers get their
        results once the group is committed, and with FULL once its log is on the disk (:meth:`_finish`).

        With FULL, works submitted while the log is being flushed wait for that flush to end before their group
        begins: they would be answered only after the next flush anyway, and meanwhile more works join them, so
        that one group, one COMMIT and one flush serve them all instead of a group for each turn of the loop
        (each group writes its pages to the log again, and each COMMIT and flush costs the same however many
        writers it serves). The turn to write is not held while they wait."""
        try:
            while self._submitted:
                if self._syncing is not None:
                    await asyncio.wait([self._syncing])
                async with self._writer:  # behind any block of write() that holds the group
                    if self._group is None:
                        self._group = await self._open_group()  # may wait for another process's turn
                    group = self._group
                    room = MAX_GROUP - group.writers
                    batch, self._submitted = self._submitted[:room], self._submitted[room:]
                    together: dict[Any, list[tuple[Any, asyncio.Future[Any]]]] = {}
                    try:
                        for work, item, future in batch:
                            if future.cancelled():
                                continue
                            if item is _ALONE:
                                _run_one(group, work, future)
                            else:
                                together.setdefault(work, []).append((item, future))
                        for work, items in together.items():
                            _run_together(group, work, items)
                    except BaseException as exc:  # the group's transaction is lost (e.g. SQLite rolled it back)
                        self._abandon(exc)
                        for _, _, future in batch:
                            _fail(future, exc if isinstance(exc, Exception) else None)
                        raise
                    if self._queued == 0 or group.writers >= MAX_GROUP:
                        await self._commit_group()
                    # else: blocks of write() are queued: they go on with the group, and the last one commits it
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else None
            for _, _, future in self._submitted:
                _fail(future, failure)
            self._submitted.clear()
            raise
        finally:
            self._running = None

    async def _open_group(self) -> _Group:
        sync = self._writers.pop() if self._writers else self._sqlite.connect().execution_options(**{_WRITE: True})
        try:
            await self._turns.take()
        except BaseException:
            _keep(self._writers, sync)
            raise
        try:
            if _begin_now(sync.connection.dbapi_connection):
                sync.begin()  # SQLAlchemy's transaction over the one just begun (see _on_begin)
            else:
                await asyncio.to_thread(sync.begin)  # a program that takes no turn holds the lock: wait on a thread
        except BaseException:
            self._turns.give_back()
            sync.close()
            raise
        raw: Any = sync.connection.dbapi_connection
        return _Group(sync, SqliteConn(sync), raw, asyncio.get_running_loop().create_future(), self.health.outages,
                      raw.total_changes)

    def _abandon(self, failure: BaseException) -> None:
        """Give up the open group after ``failure`` left its transaction unusable (SQLite rolls a whole
        transaction back on some errors: a full disk, an I/O error): roll back what is left of it, and tell its
        writers; the next writer opens a new group."""
        group, self._group = self._group, None
        if group is None:
            return
        try:
            group.sync.rollback()
        except Exception:
            group.sync.invalidate()
        finally:
            self._turns.give_back()
            _tell(group, failure)
            _keep(self._writers, group.sync)

    async def _commit_group(self) -> None:
        """Commit the open group (the caller holds the writer lock) and tell its writers how it went.

        The commit is a task of its own: a writer cancelled while it runs (a server shutting down) must not
        leave its connection half-way through a ``COMMIT`` on another thread.
        """
        group, self._group = self._group, None
        assert group is not None
        await asyncio.shield(self._spawn(self._finish(group)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled():
                finished.exception()  # raised to whoever awaited it; nobody else needs to hear of it

        task.add_done_callback(done)
        return task

    async def _finish(self, group: _Group) -> None:
        """COMMIT the group and give the turn to write to the next process, then, once what it wrote is on the
        disk, tell its writers. A COMMIT that waits for the disk (EXTRA) runs on a thread; one that does not runs
        on the loop's thread: a hop to a thread and back would hold the turn for longer than the COMMIT's writes.

        With ``synchronous=FULL`` SQLite would write the log and wait for the disk within the COMMIT, the file's
        write lock held meanwhile. Instead the connections run at NORMAL (the COMMIT writes the log and returns),
        the next group, of this process or another, goes on at once, and Loft flushes the log before the group's
        writers hear of it: at once on the loop's thread while the disk is quick (:data:`FLUSH_ON_LOOP_BELOW`),
        else by a syncer on a thread (one ``fsync`` for all the groups committed while the last one ran): an
        acknowledged write is as durable as with FULL, and the log is flushed in order, so an ``fsync`` that
        makes a group durable makes every group before it durable too. (A reader may see a group a fraction
        of a millisecond before its writers are answered.)
        """
        try:
            if self._commits_on_loop:
                self._commit(group.sync)
            else:
                await asyncio.to_thread(self._commit, group.sync)
        except BaseException as exc:
            _tell(group, exc)
            raise
        else:
            if not self._syncs_log:
                _tell(group, None)
            elif self._syncing is None and self._quick_disk:
                await self._flush_log([group])  # a quick disk: at once, on the loop, with no task of its own
            else:
                self._unsynced.append(group)
                if self._syncing is None:
                    self._syncing = self._spawn(self._sync_log())
            if self.health.down and group.raw.total_changes > group.changes:  # (a COMMIT of nothing proves nothing)
                self.health.answered(since=group.outages, writing=True)
            self._checkpoint_later()
        finally:
            _keep(self._writers, group.sync)

    async def _sync_log(self) -> None:
        """Flush the log to the disk while groups wait for it, each flush for all the groups committed before it."""
        try:
            while self._unsynced:
                groups, self._unsynced = self._unsynced, []
                await self._flush_log(groups)
        finally:
            self._syncing = None

    async def _flush_log(self, groups: list[_Group]) -> None:
        """Flush the log, on a thread unless the disk is quick (:data:`FLUSH_ON_LOOP_BELOW`), then tell ``groups``
        (on the loop's thread it never suspends).

        Every flush is timed, the first one (on the loop) included. One slower than the threshold sends the next ones
        to a thread until its memory has faded by :data:`FLUSH_MEMORY` per flush (9 flushes for a stall ten times
        the threshold, 16 for a hundred times) and they are quick again. A flush on a thread may be timed a little
        long (it waits for the interpreter's lock while the loop runs, once its ``fsync`` is done): that only delays
        their return to the loop."""
        try:
            if self._quick_disk:
                self._fsync_log()
            else:
                await asyncio.to_thread(self._fsync_log)
        except BaseException as exc:
            for group in groups:
                _tell(group, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for group in groups:
                _tell(group, None)

    @property
    def _quick_disk(self) -> bool:
        """Whether the log's next flush runs on the loop's thread (:data:`FLUSH_ON_LOOP_BELOW`)."""
        return self.flush_seconds < FLUSH_ON_LOOP_BELOW

    def _fsync_log(self) -> None:
        """``fsync`` the write-ahead log (whatever descriptor wrote it: a flush is per file), on a thread or, while
        the disk is quick, on the loop's (:data:`FLUSH_ON_LOOP_BELOW`)."""
        assert self._file is not None
        try:
            fd = os.open(self._file + "-wal", os.O_RDONLY)
        except FileNotFoundError:  # SQLite removes the log only once all of it is checkpointed and synced
            return
        try:
            began = time.perf_counter()
            os.fsync(fd)
            self._flushed(time.perf_counter() - began)  # (the flush alone, not the hop to a thread and back)
        finally:
            os.close(fd)

    def _flushed(self, seconds: float) -> None:
        """Note a flush that took ``seconds``: a slower one than remembered counts at once, and the memory of a slow
        one fades by :data:`FLUSH_MEMORY` per flush."""
        self.flush_seconds = max(seconds, self.flush_seconds * FLUSH_MEMORY)

    def _commit(self, sync: Connection) -> None:
        """``COMMIT`` (with EXTRA, its ``fsync``: on a thread), or roll back if it fails; then the next process's
        turn."""
        try:
            try:
                sync.commit()
            except BaseException:
                sync.rollback()
                raise
        finally:
            self._turns.give_back()

    def _checkpoint_later(self) -> None:
        """After a commit, at most once a second: copy the write-ahead log into the database file, on a thread
        and a connection of its own, beside the writers. (SQLite's automatic checkpoint, switched off on Loft's
        connections, runs inside the COMMIT that crosses its threshold, and every writer queued behind that
        group waits for it.)"""
        loop = asyncio.get_running_loop()
        if self._file is None or self._checkpointing is not None:
            return
        if loop.time() - self._checkpointed_at < CHECKPOINT_EVERY:
            return
        self._checkpointed_at = loop.time()
        self._checkpointing = self._spawn(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Copy the log into the database file, and have the log start again.

        SQLite writes the log from its start again only when a write transaction begins with every frame of it
        copied. While writes go on, a checkpoint beside them never sees that moment (a group commits more frames
        while it copies), and the log grows by every write, a gigabyte a minute under load. So the bulk is
        copied beside the writers (PASSIVE, again while the last pass found much to copy), then the few frames
        committed meanwhile are copied between two groups, with this process's writers held back and the turn
        taken from other processes' (RESTART, which also waits for readers of the log and for programs that take
        no turn, up to ``RESTART_WAIT``). Under the benchmark's fixed load that hold is 1-20 ms a second on the
        bench machine, spent copying the frames left and flushing the database file (not waiting for readers:
        with no wait allowed, RESTART takes as long and reports no reader in its way); the writers of that moment
        wait for it, one of the stalls that decide the fixed load's p99 (docs/deployment.md).
        """
        try:
            copied = 0
            for _ in range(PASSES):  # each pass copies what was committed during the one before
                now = await asyncio.to_thread(self._checkpoint_now, "PASSIVE")
                if now - copied < CLOSE_ENOUGH:
                    break
                copied = now
            async with self._between_groups():
                await self._turns.take()  # and no other process's writer either
                try:
                    await asyncio.to_thread(self._checkpoint_now, "RESTART")
                finally:
                    self._turns.give_back()
        finally:
            self._checkpointing = None

    def _checkpoint_now(self, mode: str) -> int:
        """Checkpoint in ``mode``; the number of frames of the log now in the database file."""
        assert self._file is not None
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._file, timeout=RESTART_WAIT, isolation_level=None,
                                                 check_same_thread=False)
        # PASSIVE copies what no reader still needs, never waiting for (nor blocking) readers and writers. Neither
        # mode raises when it has to stop short: it says so in its row, and the next checkpoint goes on from there.
        _, _, copied = self._checkpointer.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        if mode == "PASSIVE":
            self.checkpoints += 1
        return int(copied)

    def _flush_later(self) -> None:
        """A writer gave up waiting: if nobody is left to commit the open group, a task of its own does."""
        if self._queued == 0 and self._group is not None and not self._writer.locked():
            self._spawn(self._flush())

    async def _flush(self) -> None:
        async with self._between_groups():
            pass

    @asynccontextmanager
    async def _between_groups(self) -> AsyncIterator[None]:
        """This process's writer lock with no group open: every write of the process so far is committed, and
        none begins before the block ends."""
        async with self._writer:
            if self._group is not None:
                await self._commit_group()
            yield

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        outages = self.health.outages
        try:
            sync = self._readers.pop() if self._readers else self._sqlite.connect()
            try:
                with sync.begin():
                    yield SqliteConn(sync)
            finally:
                _keep(self._readers, sync)
        except Exception as exc:
            raise unavailability.translated(exc, writing=False)
        if self.health.down:
            self.health.answered(since=outages, writing=False)

    async def _ping(self) -> None:
        await self.submit(nothing)

    async def migrate(self) -> None:
        async with self.write() as conn:
            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        self.health.close()
        if self._syncing is not None:
            await asyncio.wait([self._syncing])
        if self._checkpointing is not None:
            await asyncio.wait([self._checkpointing])
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        for idle in (*self._readers, *self._writers):
            idle.close()
        self._readers.clear()
        self._writers.clear()
        self._sqlite.dispose()
        self._turns.close()


#: Idle SQLite connections kept open, per kind (more are opened when more transactions run at once).
_KEEP = 16


def _run_one(group: _Group, work: Work[Any], future: asyncio.Future[Any]) -> None:
    """Run one work in a savepoint of ``group``, to its end (its statements never wait): what it returned goes to
    ``group.done``; if it raised, or returned an exception (an item run alone by :func:`_run_together`), none of
    its statements is kept and ``future`` gets the exception at once."""
    group.raw.execute("SAVEPOINT loft_writer")
    hooked = len(group.conn.hooks)
    try:
        result = _to_the_end(work(group.conn))
    except BaseException as exc:
        if not _undo(group, "loft_writer", hooked) or not isinstance(exc, Exception):
            raise  # the group's transaction is lost: the caller gives it up, and fails every work of it
        future.set_exception(exc)
        return
    if isinstance(result, Exception):
        if not _undo(group, "loft_writer", hooked):
            raise result  # the failure that cost the group its transaction, most likely
        future.set_exception(result)
        return
    group.raw.execute("RELEASE loft_writer")
    group.writers += 1
    group.done.append((future, result))


def _run_together(group: _Group, work: BatchWork[Any, Any], items: list[tuple[Any, asyncio.Future[Any]]]) -> None:
    """Run a batch work for all ``items`` in one savepoint; if it raises, each item alone.

    If it fails some items, the savepoint is rolled back (whatever it wrote for them goes with it), those items
    get their exceptions, and the work runs again, in a new savepoint, for the others; until it fails none (each
    run has fewer items, so that is at most one run per item)."""
    while items:
        group.raw.execute("SAVEPOINT loft_batch")
        hooked = len(group.conn.hooks)
        try:
            results = _to_the_end(work(group.conn, [item for item, _ in items]))
            if len(results) != len(items):
                raise RuntimeError(f"{work!r} gave {len(results)} results for {len(items)} items")
        except Exception:
            if not _undo(group, "loft_batch", hooked):
                raise
            for item, future in items:
                _run_one(group, first_of(work, item), future)
            return
        except BaseException:
            _undo(group, "loft_batch", hooked)
            raise
        failed = [(future, result) for (_, future), result in zip(items, results) if isinstance(result, Exception)]
        if not failed:
            group.raw.execute("RELEASE loft_batch")
            for (_, future), result in zip(items, results):
                group.writers += 1
                group.done.append((future, result))
            return
        if not _undo(group, "loft_batch", hooked):
            raise failed[0][1]  # the failure that cost the group its transaction, most likely
        for future, result in failed:
            future.set_exception(result)
        items = [(item, future) for (item, future), result in zip(items, results) if not isinstance(result, Exception)]


def _undo(group: _Group, savepoint: str, hooked: int) -> bool:
    """Roll back to ``savepoint`` and release it, with the :meth:`~loft.db.engine.Conn.after_commit` hooks given
    since (``hooked`` were given before it); False if that failed: SQLite rolled the whole transaction back
    itself (it does on a full disk, an I/O error, …), and the group's other writers lost their work too."""
    del group.conn.hooks[hooked:]
    try:
        group.raw.execute(f"ROLLBACK TO {savepoint}")
        group.raw.execute(f"RELEASE {savepoint}")
    except sqlite3.Error:
        return False
    return True


def _to_the_end(step: Awaitable[T]) -> T:
    """Run a work's coroutine to its end on the caller's stack: its result, or its exception. Its statements
    never suspend it: if anything does, it fails with :class:`loft.db.engine.ForbiddenAwait` (see the contract
    of submitted works in :mod:`loft.db.engine`)."""
    steps = step.__await__()
    try:
        waited = next(steps)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    refuse(steps, waited)


def _tell(group: _Group, failure: BaseException | None) -> None:
    """Tell a group's writers that it is committed (and durable), or that it failed."""
    if failure is None:
        group.committed.set_result(None)
        run_hooks(group.conn.hooks)
        for future, result in group.done:
            if not future.done():
                future.set_result(result)
        return
    group.committed.set_exception(failure)
    group.committed.exception()  # a group whose writers all failed has nobody waiting on it
    for future, _ in group.done:
        _fail(future, failure if isinstance(failure, Exception) else None)


def _fail(future: asyncio.Future[Any], exc: Exception | None) -> None:
    if not future.done():
        if exc is None:
            future.cancel()
        else:
            future.set_exception(exc)


def _keep(idle: list[Connection], sync: Connection) -> None:
    """Keep ``sync`` open for the next transaction, unless enough are kept or it is no longer usable."""
    if sync.invalidated or sync.in_transaction() or len(idle) >= _KEEP:
        sync.close()
    else:
        idle.append(sync)


def _begin_now(raw: Any) -> bool:
    """``BEGIN IMMEDIATE`` on the loop's thread if the write lock is free (nearly always, with one process): it
    then costs microseconds, where a hop to a thread and back costs tens. False, with nothing begun, if another
    process holds the lock: waiting for it is a thread's job."""
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY:
            return False
        raise
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return True



def _sqlite_transactions(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # SqliteDatabase._checkpoint_later does it, outside commits
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        # A group's writers each run in a savepoint, whose journal of the pages they change would go to a temporary
        # file past 64 KiB (an open and an unlink per group, two writes per page): kept in memory instead.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: this runs for every transaction, and needs none of SQLAlchemy's statement work.
        raw: Any = conn.connection.dbapi_connection
        if raw.in_transaction:  # begun already, by _begin_now
            return
        raw.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")
