"""Items of one batch work run together in one transaction on PostgreSQL too.

On SQLite, :meth:`loft.db.engine.Database.submit_item` already runs the items submitted to the same work while
a group is open in one savepoint of one transaction. On PostgreSQL it runs each item in a transaction of its own:
a begin, the work's statements and a commit for every create, every hand-over, every callback's record, each
paying a round trip per statement on both sides of the socket. Here, on PostgreSQL, the items submitted to a
work while fewer than :data:`IN_FLIGHT` of its batches are running start a batch at once (no delay is added at
low load: an item alone is a batch of one); items submitted while that many run wait for the next one, and
all go together. Under load the batches grow by themselves, and the statements per message fall with them.

The work's contract is :class:`loft.db.engine.BatchWork`'s: one result per item, an exception for an item that
failed, for which it wrote nothing. If the work raises (on PostgreSQL a failed statement spoils the whole
transaction), the transaction is rolled back and each item runs again alone, failing alone.

Errors are translated as :meth:`Database.write` translates them (:class:`loft.errors.DatabaseUnavailable`
when the database is not there).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, TypeVar

from loft.db.engine import BatchWork, Database

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741

#: Batches of one work running at once in one process (each in a transaction of its own). One measured best: the
#: next batch gathers everything submitted while one runs, and the fewer, larger batches cost less CPU per item.
IN_FLIGHT = 1
#: Items in one batch at most (its statements' lists and rows grow with it).
MAX_BATCH = 256


class _Batches:
    """The batches of one :class:`Database` (PostgreSQL): items waiting, by work, and batches running."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.waiting: dict[Any, list[tuple[Any, asyncio.Future[Any]]]] = {}
        self.running: dict[Any, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, work: BatchWork[Any, Any], item: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(work, []).append((item, future))
        if self.running.get(work, 0) < IN_FLIGHT:
            self.running[work] = self.running.get(work, 0) + 1
            task = asyncio.get_running_loop().create_task(self._drain(work))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return future

    async def _drain(self, work: BatchWork[Any, Any]) -> None:
        """Run batches of ``work`` while items wait for it."""
        try:
            while True:
                waiting = self.waiting.get(work)
                if not waiting:
                    return
                batch = [(item, future) for item, future in waiting[:MAX_BATCH] if not future.cancelled()]
                del waiting[:MAX_BATCH]
                if batch:
                    await self._run(work, batch)
        finally:
            self.running[work] -= 1
            if not self.running[work]:
                del self.running[work]
                if not self.waiting.get(work):
                    self.waiting.pop(work, None)

    async def _run(self, work: BatchWork[Any, Any], batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        try:
            async with self.db.write() as conn:
                results = await work(conn, [item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{work!r} gave {len(results)} results for {len(batch)} items")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            for item, future in batch:  # each alone: the one that fails takes nobody with it
                try:
                    async with self.db.write() as conn:
                        result = (await work(conn, [item]))[0]
                except Exception as alone:
                    result = alone
                _settle(future, result)
            return
        for (_, future), result in zip(batch, results):
            _settle(future, result)


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)


_batches: weakref.WeakKeyDictionary[Database, _Batches] = weakref.WeakKeyDictionary()


def submit_later(db: Database, work: BatchWork[I, T], item: I) -> asyncio.Future[T]:
    """:meth:`Database.submit_later`, with the items of ``work`` batched on PostgreSQL too. The future's errors
    are translated on PostgreSQL (:class:`DatabaseUnavailable`), the database's own on SQLite, as there."""
    if db.is_sqlite:
        return db.submit_later(work, item)
    batches = _batches.get(db)
    if batches is None:
        batches = _batches[db] = _Batches(db)
    return batches.submit(work, item)


async def submit_item(db: Database, work: BatchWork[I, T], item: I) -> T:
    """:meth:`Database.submit_item`, with the items of ``work`` batched on PostgreSQL too."""
    if db.is_sqlite:
        return await db.submit_item(work, item)
    return await submit_later(db, work, item)
