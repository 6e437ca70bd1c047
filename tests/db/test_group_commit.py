"""SQLite group commit (loft.db.sqlite): many writers share one transaction, each in a savepoint;
``write()`` returns only once the group is committed; a writer that fails takes only its own work back."""

from __future__ import annotations

import asyncio
import fcntl
import math
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from loft.db import sqlite
from loft.db.sqlite import SqliteDatabase
from loft.db.tables import opt_outs
from loft.kit import dates


def _row(i: int) -> dict[str, object]:
    return {"sender": f"+1555000{i:04d}", "recipient": "+15551234567", "account_sid": "AC" + "0" * 32,
            "date_created": dates.now()}


def _committed(path: Path) -> set[str]:
    """What another connection (another process, say) sees: only committed rows."""
    with sqlite3.connect(path) as other:
        return {sender for (sender,) in other.execute("SELECT sender FROM opt_outs")}


@pytest.fixture
def database(tmp_path: Path) -> SqliteDatabase:
    return SqliteDatabase(f"sqlite:///{tmp_path / 'loft.db'}")


def test_concurrent_writers_share_commits_and_each_returns_committed(database: SqliteDatabase, tmp_path: Path) -> None:
    seen_after_return: dict[int, bool] = {}
    commits = 0

    async def main() -> None:
        nonlocal commits
        await database.migrate()
        original = database._finish

        async def counting(group: object) -> None:
            nonlocal commits
            commits += 1
            await original(group)  # type: ignore[arg-type]

        database._finish = counting  # type: ignore[method-assign]

        async def writer(i: int) -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(i))
                await asyncio.sleep(0)  # let the others queue up behind this one
            seen_after_return[i] = f"+1555000{i:04d}" in _committed(tmp_path / "loft.db")

        await asyncio.gather(*(writer(i) for i in range(50)))
        await database.dispose()

    asyncio.run(main())
    assert seen_after_return == {i: True for i in range(50)}  # durable before write() returned
    assert 1 <= commits < 50  # grouped: fewer COMMITs than writers


def test_a_failing_writer_takes_back_only_its_own_work(database: SqliteDatabase, tmp_path: Path) -> None:
    async def main() -> list[BaseException | None]:
        await database.migrate()

        async def writer(i: int) -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(i))
                await asyncio.sleep(0)
                if i % 3 == 0:
                    raise ValueError(f"writer {i} changed its mind")

        results = await asyncio.gather(*(writer(i) for i in range(30)), return_exceptions=True)
        async with database.read() as conn:
            assert len((await conn.execute(select(opt_outs.c.sender))).all()) == 20
        await database.dispose()
        return list(results)

    results = asyncio.run(main())
    assert [isinstance(r, ValueError) for r in results] == [i % 3 == 0 for i in range(30)]
    assert _committed(tmp_path / "loft.db") == {f"+1555000{i:04d}" for i in range(30) if i % 3}


def test_a_cancelled_writer_leaves_the_group_to_be_committed(database: SqliteDatabase, tmp_path: Path) -> None:
    async def main() -> None:
        await database.migrate()
        entered = asyncio.Event()

        async def holder() -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(1))
                entered.set()
                await asyncio.sleep(0.05)

        async def waiter() -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(2))

        first = asyncio.create_task(holder())
        await entered.wait()
        second = asyncio.create_task(waiter())
        await asyncio.sleep(0)  # the second now waits for the lock
        second.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
        await database.dispose()

    asyncio.run(main())
    assert _committed(tmp_path / "loft.db") == {"+15550000001"}


def test_the_log_is_checkpointed_beside_the_writers_not_in_their_commits(database: SqliteDatabase, tmp_path: Path
                                                                         ) -> None:
    db_file = tmp_path / "loft.db"
    sizes: dict[str, int] = {}

    async def main() -> None:
        await database.migrate()  # its commit starts the first checkpoint
        await _checkpointed(database, 1)
        sizes["before"] = db_file.stat().st_size
        async def writer(i: int) -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(i))

        # Well under SQLite's own threshold (1,000 pages), in a few group commits, within the second.
        await asyncio.gather(*(writer(i) for i in range(500)))
        sizes["written"] = db_file.stat().st_size  # still in the log: nothing checkpointed inside commits
        await asyncio.sleep(sqlite.CHECKPOINT_EVERY)
        async with database.write() as conn:
            await conn.execute(insert(opt_outs), _row(500))
        await _checkpointed(database, 2)
        sizes["after"] = db_file.stat().st_size
        async with database.read() as conn:
            sizes["autocheckpoint"] = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        await database.dispose()

    asyncio.run(main())
    assert sizes["written"] == sizes["before"]
    assert sizes["after"] > sizes["before"]  # the rows reached the database file
    assert sizes["autocheckpoint"] == 0
    assert len(_committed(db_file)) == 501


@pytest.mark.parametrize(("synchronous", "on_threads"), [
    # SQLite's COMMIT waits for no disk: on the loop; Loft's flush of the log on a thread, the disk being slow here
    # (test_a_quick_disk_is_flushed_on_the_loop_and_a_slow_one_on_a_thread)
    ("FULL", {"_fsync_log": 3}),
    ("NORMAL", {}),  # no flush at all
    ("EXTRA", {"_commit": 3}),  # SQLite's COMMIT waits for the disk: on a thread
])
def test_a_free_write_lock_is_taken_on_the_loop_and_only_a_wait_for_the_disk_goes_to_a_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synchronous: str, on_threads: dict[str, int]) -> None:
    database = SqliteDatabase(f"sqlite:///{tmp_path / 'loft.db'}", synchronous=synchronous)
    sent_to_threads: list[str] = []
    to_thread = asyncio.to_thread

    async def recording(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        sent_to_threads.append(getattr(func, "__name__", repr(func)))
        return await to_thread(func, *args, **kwargs)

    async def main() -> None:
        await database.migrate()
        monkeypatch.setattr(asyncio, "to_thread", recording)
        monkeypatch.setattr(sqlite, "FLUSH_ON_LOOP_BELOW", 0.0)  # no flush is quick enough
        for i in range(3):
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(i))
        await database.dispose()

    asyncio.run(main())
    assert {name: sent_to_threads.count(name) for name in ("begin", "_commit", "_fsync_log")
            if name in sent_to_threads} == on_threads
    assert len(_committed(tmp_path / "loft.db")) == 3


def test_a_quick_disk_is_flushed_on_the_loop_and_a_slow_one_on_a_thread(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With FULL, Loft's flush of the log runs on the loop's thread while the disk is quick (a hop to a thread
    costs more than such a flush). A slow one sends the next ones to a thread (the loop goes on meanwhile) until
    its memory has faded by FLUSH_MEMORY per flush, then they are on the loop again. The disk's speed is played by
    how long its ``fsync`` takes: nothing (quick), then ten times the threshold. (A flush on a thread may be timed
    a little long, waiting for the interpreter's lock: the fade takes at least as many flushes as the peak says.)"""
    import threading
    import time

    database = SqliteDatabase(f"sqlite:///{tmp_path / 'loft.db'}", synchronous="FULL")
    slow = 10 * sqlite.FLUSH_ON_LOOP_BELOW
    delay = 0.0
    where: list[str] = []
    first: list[str] = []
    peak: list[float] = []
    loop_thread = threading.get_ident()

    def disk(fd: int) -> None:
        where.append("loop" if threading.get_ident() == loop_thread else "thread")
        if delay:
            time.sleep(delay)

    async def main() -> list[int]:
        nonlocal delay
        monkeypatch.setattr(os, "fsync", disk)
        await database.migrate()
        first[:] = where[:1]
        where.clear()
        results = [await database.submit(_insert(i)) for i in range(3)]  # one group, one flush each
        delay = slow
        results.append(await database.submit(_insert(3)))
        peak.append(database.flush_seconds)  # as timed (a sleep may overshoot)
        results.append(await database.submit(_insert(4)))
        delay = 0.0
        results += [await database.submit(_insert(i)) for i in range(5, 40)]
        await database.dispose()
        return results

    assert asyncio.run(main()) == list(range(40))
    assert first == ["loop"]  # the schema's first write
    assert peak[0] >= slow
    # On a thread while the slow flush's memory, fading, is above the threshold (9 for exactly ten times it).
    fades = 1 + math.floor(math.log(peak[0] / sqlite.FLUSH_ON_LOOP_BELOW) / -math.log(sqlite.FLUSH_MEMORY))
    on_thread = where.count("thread")
    assert fades <= on_thread < 30
    assert where == ["loop", "loop", "loop",  # quick
                     "loop",  # the first slow one
                     *["thread"] * on_thread, *["loop"] * (36 - on_thread)]  # one run of them, then quick again
    assert len(_committed(tmp_path / "loft.db")) == 40


def test_a_writer_waits_for_another_process_on_a_thread_not_on_the_loop(database: SqliteDatabase, tmp_path: Path
                                                                        ) -> None:
    ticks = 0
    seen: dict[str, object] = {}

    async def main() -> None:
        nonlocal ticks
        await database.migrate()
        other = sqlite3.connect(tmp_path / "loft.db", isolation_level=None)  # another process's connection
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO opt_outs VALUES ('+15559990000', '+15551234567', 'AC', '2026-01-01')")

        async def writer() -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(1))

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        clock = asyncio.create_task(ticker())
        waiting = asyncio.create_task(writer())
        await asyncio.sleep(0.3)
        seen["done while locked"] = waiting.done()
        other.execute("COMMIT")  # from the loop: a loop blocked by the waiting writer would never get here
        await asyncio.wait_for(waiting, 10)
        clock.cancel()
        other.close()
        await database.dispose()

    asyncio.run(main())
    assert seen["done while locked"] is False
    assert ticks >= 10  # the loop ran on while the writer waited
    assert _committed(tmp_path / "loft.db") == {"+15559990000", "+15550000001"}


def _log_restarts(db_file: Path) -> int:
    """How many times the write-ahead log was written from its start again: the checkpoint sequence number in
    its header (bytes 12–15), which SQLite increments at each restart."""
    header = db_file.with_name(db_file.name + "-wal").read_bytes()[:16]
    return int.from_bytes(header[12:16], "big")


class _Writers:
    """``count`` writers inserting rows one transaction after another until stopped; how long each write took."""

    def __init__(self, database: SqliteDatabase, count: int) -> None:
        self.database = database
        self.count = count
        self.writing = True
        self.waits: list[float] = []
        self.tasks = [asyncio.create_task(self._write(n)) for n in range(count)]

    async def _write(self, first: int) -> None:
        i, loop = first, asyncio.get_running_loop()
        while self.writing:
            started = loop.time()
            async with self.database.write() as conn:
                await conn.execute(insert(opt_outs), _row(i))
            self.waits.append(loop.time() - started)
            i += self.count

    async def stop(self) -> None:
        self.writing = False
        await asyncio.gather(*self.tasks)


def test_the_log_starts_again_while_writes_go_on(database: SqliteDatabase, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite writes its log from the start again only when a write transaction begins with all of it copied to
    the database file. A checkpoint beside writers that never pause never gets there (each group commits more
    frames while it copies), and the log would grow for as long as they write."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_EVERY", 0.05)
    db_file = tmp_path / "loft.db"
    seen: dict[str, int] = {}

    async def main() -> None:
        await database.migrate()
        writers = _Writers(database, 100)  # always some queued: no pause
        await asyncio.sleep(0.2)
        seen["start"] = _log_restarts(db_file)
        checkpoints = database.checkpoints
        await asyncio.sleep(1.0)
        seen["end"] = _log_restarts(db_file)
        seen["checkpoints"] = database.checkpoints - checkpoints
        await writers.stop()
        async with database.read() as conn:
            seen["rows"] = len((await conn.execute(select(opt_outs.c.sender))).all())
        await database.dispose()

    asyncio.run(main())
    assert seen["checkpoints"] >= 5
    assert seen["end"] - seen["start"] >= 3  # restarted again and again, not only once writes stopped
    assert len(_committed(db_file)) == seen["rows"] > 1000  # nothing lost on the way


def test_a_reader_that_holds_its_snapshot_delays_the_log_s_new_start_not_the_writers(
        database: SqliteDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass that ends a log holds this process's writers back while it waits for readers of the log: it
    gives up after ``RESTART_WAIT`` and tries again a second later, rather than stalling the writers."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_EVERY", 0.05)
    db_file = tmp_path / "loft.db"
    waits: list[float] = []
    seen: dict[str, int] = {}

    async def main() -> None:
        await database.migrate()
        writers = _Writers(database, 20)
        await asyncio.sleep(0.2)
        reader = sqlite3.connect(db_file, isolation_level=None)  # another process's long read
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM opt_outs").fetchone()  # its snapshot includes frames of the log
        seen["held"] = _log_restarts(db_file)
        await asyncio.sleep(0.6)
        seen["while held"] = _log_restarts(db_file) - seen["held"]
        reader.execute("COMMIT")
        reader.close()
        seen["released"] = _log_restarts(db_file)
        await asyncio.sleep(0.6)
        seen["after"] = _log_restarts(db_file) - seen["released"]
        await writers.stop()
        waits.extend(writers.waits)
        await database.dispose()

    asyncio.run(main())
    # The reader still needs frames of the log: it cannot start again (unless the reader's snapshot began at the
    # very moment the log was wholly copied, when it reads the database file alone: once at most).
    assert seen["while held"] <= 1
    assert seen["after"] >= 2  # and does once the reader is gone
    assert max(waits) < 0.5  # writers were held back at most about RESTART_WAIT at a time, never the 30 s
    #                          busy timeout of an ordinary connection


async def _checkpointed(database: SqliteDatabase, count: int) -> None:
    for _ in range(200):
        if database.checkpoints >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{database.checkpoints} checkpoints, expected {count}")


# Submitted works (Database.submit) ------------------------------------------------------------------------


def _insert(i: int) -> Any:
    async def work(conn: Any) -> int:
        await conn.execute(insert(opt_outs), _row(i))
        return i

    return work


def test_submitted_works_run_together_and_each_returns_once_committed(database: SqliteDatabase, tmp_path: Path
                                                                       ) -> None:
    seen: dict[int, tuple[int, bool]] = {}
    commits = 0

    async def main() -> None:
        nonlocal commits
        await database.migrate()
        original = database._finish

        async def counting(group: object) -> None:
            nonlocal commits
            commits += 1
            await original(group)  # type: ignore[arg-type]

        database._finish = counting  # type: ignore[method-assign]

        async def caller(i: int) -> None:
            result = await database.submit(_insert(i))
            seen[i] = (result, f"+1555000{i:04d}" in _committed(tmp_path / "loft.db"))

        await asyncio.gather(*(caller(i) for i in range(50)))
        await database.dispose()

    asyncio.run(main())
    assert seen == {i: (i, True) for i in range(50)}  # its own result, and durable before it came back
    assert commits == 1  # all submitted at once: one group, one COMMIT


def test_a_failing_work_takes_back_only_its_own_statements(database: SqliteDatabase, tmp_path: Path) -> None:
    def work(i: int) -> Any:
        async def run(conn: Any) -> None:
            await conn.execute(insert(opt_outs), _row(i))
            if i % 3 == 0:
                raise ValueError(f"work {i} changed its mind")

        return run

    async def main() -> list[BaseException | None]:
        await database.migrate()
        results = await asyncio.gather(*(database.submit(work(i)) for i in range(30)), return_exceptions=True)
        await database.dispose()
        return list(results)

    results = asyncio.run(main())
    assert [isinstance(r, ValueError) for r in results] == [i % 3 == 0 for i in range(30)]
    assert _committed(tmp_path / "loft.db") == {f"+1555000{i:04d}" for i in range(30) if i % 3}


def test_a_work_that_waits_for_anything_but_its_statements_is_refused_and_leaves_nothing(
        database: SqliteDatabase, tmp_path: Path) -> None:
    async def waits(conn: Any) -> None:
        await conn.execute(insert(opt_outs), _row(1))
        await asyncio.sleep(0.01)  # would hold the whole group (and other processes' turn) meanwhile

    async def main() -> list[object]:
        await database.migrate()
        results = await asyncio.gather(database.submit(waits), database.submit(_insert(2)), return_exceptions=True)
        await database.dispose()
        return list(results)

    failed, fine = asyncio.run(main())
    assert isinstance(failed, RuntimeError) and "may only run statements" in str(failed)
    assert fine == 2
    assert _committed(tmp_path / "loft.db") == {"+15550000002"}


def test_works_and_write_blocks_share_the_writer(database: SqliteDatabase, tmp_path: Path) -> None:
    async def main() -> None:
        await database.migrate()

        async def block(i: int) -> None:
            async with database.write() as conn:
                await conn.execute(insert(opt_outs), _row(i))
                await asyncio.sleep(0)

        await asyncio.gather(*(block(i) if i % 2 else database.submit(_insert(i)) for i in range(40)))
        await database.dispose()

    asyncio.run(main())
    assert _committed(tmp_path / "loft.db") == {f"+1555000{i:04d}" for i in range(40)}


# Turns between processes -------------------------------------------------------------------------------


@contextmanager
def _other_process_holding_the_turn(db_file: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that takes the turn to write the way Loft does, and holds it until told to let go."""
    script = (
        "import fcntl, os, sys\n"
        f"fd = os.open({str(db_file) + '-writer'!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('holding', flush=True)\n"
        "sys.stdin.readline()\n"
        "fcntl.flock(fd, fcntl.LOCK_UN)\n"
        "print('released', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as other:
        try:
            assert other.stdout is not None and other.stdout.readline() == "holding\n"
            yield other
        finally:
            other.kill()


def _let_go(other: subprocess.Popen[str]) -> None:
    assert other.stdin is not None and other.stdout is not None
    other.stdin.write("\n")
    other.stdin.flush()
    assert other.stdout.readline() == "released\n"


def test_a_writer_waits_for_another_process_s_turn_without_holding_up_the_loop(database: SqliteDatabase,
                                                                               tmp_path: Path) -> None:
    db_file = tmp_path / "loft.db"
    seen: dict[str, object] = {}

    async def main() -> None:
        # A checkpoint after the migration could hold the turn (on a thread) while the other process is started
        # below, with the loop blocked reading that it holds the turn: neither would ever get it.
        database._checkpoint_later = lambda: None  # type: ignore[method-assign]
        await database.migrate()
        with _other_process_holding_the_turn(db_file) as other:  # it holds no SQLite lock: only Loft's turn
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            clock = asyncio.create_task(ticker())
            waiting = asyncio.create_task(database.submit(_insert(1)))
            await asyncio.sleep(0.3)
            seen["done during the other's turn"] = waiting.done()
            seen["ticks"] = ticks
            await asyncio.to_thread(_let_go, other)
            seen["result"] = await asyncio.wait_for(waiting, 10)
            clock.cancel()
        await database.dispose()

    asyncio.run(main())
    assert seen["done during the other's turn"] is False
    assert isinstance(seen["ticks"], int) and seen["ticks"] >= 10  # the loop ran on meanwhile
    assert seen["result"] == 1
    assert _committed(db_file) == {"+15550000001"}


def test_a_turn_that_arrives_for_a_cancelled_writer_is_given_back(database: SqliteDatabase, tmp_path: Path) -> None:
    db_file = tmp_path / "loft.db"
    seen: dict[str, object] = {}

    async def main() -> None:
        database._checkpoint_later = lambda: None  # type: ignore[method-assign]  # it would adopt the wait
        await database.migrate()
        with _other_process_holding_the_turn(db_file) as other:
            async def block() -> None:
                async with database.write() as conn:
                    await conn.execute(insert(opt_outs), _row(1))

            waiting = asyncio.create_task(block())
            await asyncio.sleep(0.2)  # waiting for the turn, on a thread
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
            await asyncio.to_thread(_let_go, other)  # the thread now gets the turn, for nobody
            turns: Any = database._turns
            while turns._wait is not None:  # until it has (else a third could slip in before it)
                await asyncio.sleep(0.01)
            third = os.open(str(db_file) + "-writer", os.O_RDWR)
            try:
                for _ in range(200):  # a third process can take the turn: it was given back
                    try:
                        fcntl.flock(third, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        seen["taken by a third"] = True
                        break
                    except BlockingIOError:
                        await asyncio.sleep(0.01)
            finally:
                os.close(third)
        await database.dispose()

    asyncio.run(main())
    assert seen.get("taken by a third") is True
    assert _committed(db_file) == set()


# Items submitted to one batch work (Database.submit_item) -------------------------------------------------


class _Batch:
    """A batch work: inserts each item's row; an odd item fails alone (returned as its exception), and an item
    of 13 makes the whole batch raise (after writing), as a statement of many rows that fails would."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, conn: Any, items: list[int]) -> list[int | Exception]:
        self.calls.append(items)
        results: list[int | Exception] = []
        for i in items:
            if i % 2:
                results.append(ValueError(f"item {i} is odd"))
            else:
                await conn.execute(insert(opt_outs), _row(i))
                results.append(i * 10)
        if 13 in items and len(items) > 1:
            raise RuntimeError("the batch as a whole failed")
        return results


def test_items_submitted_together_run_in_one_call_and_each_gets_its_own_result(database: SqliteDatabase,
                                                                               tmp_path: Path) -> None:
    batch = _Batch()

    async def main() -> list[object]:
        await database.migrate()
        results = await asyncio.gather(*(database.submit_item(batch, i) for i in range(10)), return_exceptions=True)
        await database.dispose()
        return list(results)

    results = asyncio.run(main())
    # In one call; then again for the items that succeeded, without whatever the call wrote for the others.
    assert batch.calls == [list(range(10)), list(range(0, 10, 2))]
    assert [r if isinstance(r, int) else type(r) for r in results] == [
        i * 10 if i % 2 == 0 else ValueError for i in range(10)]
    assert _committed(tmp_path / "loft.db") == {f"+1555000{i:04d}" for i in range(0, 10, 2)}


def test_a_batch_that_raises_is_run_again_one_item_at_a_time(database: SqliteDatabase, tmp_path: Path) -> None:
    batch = _Batch()

    async def main() -> list[object]:
        await database.migrate()
        results = await asyncio.gather(*(database.submit_item(batch, i) for i in (2, 13, 4)), return_exceptions=True)
        await database.dispose()
        return list(results)

    results = asyncio.run(main())
    assert batch.calls == [[2, 13, 4], [2], [13], [4]]  # together, then alone once it raised
    assert results[0] == 20 and results[2] == 40 and isinstance(results[1], ValueError)
    assert _committed(tmp_path / "loft.db") == {"+15550000002", "+15550000004"}  # the failed batch left nothing


# Durability: what is acknowledged is on the disk ------------------------------------------------------------


def test_writers_are_answered_only_once_the_log_is_on_the_disk(database: SqliteDatabase, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With FULL, SQLite's COMMIT returns before the disk has the log (the connections run at NORMAL, so that
    the next group need not wait for the disk): Loft's own flush of the log comes before any writer hears that
    its write is done. Works submitted while a flush runs wait for it, then go in one group: one COMMIT and one
    more flush for all of them, however many turns of the loop they arrived over."""
    import threading

    disk = threading.Event()
    flushes: list[float] = []
    commits: list[int] = []
    real_flush, real_commit = database._fsync_log, database._commit

    def slow_disk() -> None:
        disk.wait(10)
        flushes.append(1)
        real_flush()

    def counted_commit(sync: Any) -> None:
        commits.append(1)
        real_commit(sync)

    seen: dict[str, object] = {}

    async def main() -> None:
        await database.migrate()
        monkeypatch.setattr(sqlite, "FLUSH_ON_LOOP_BELOW", 0.0)  # a disk this slow is flushed on a thread
        database._fsync_log = slow_disk  # type: ignore[method-assign]
        database._commit = counted_commit  # type: ignore[method-assign]
        first = asyncio.create_task(database.submit(_insert(1)))
        await asyncio.sleep(0.2)
        later = [asyncio.create_task(database.submit(_insert(i))) for i in range(2, 6)]
        for _ in range(4):  # over several turns of the loop, all while the first flush is held
            await asyncio.sleep(0.05)
            later.append(asyncio.create_task(database.submit(_insert(len(later) + 2))))
        await asyncio.sleep(0.2)
        seen["answered before the disk had it"] = first.done() or any(task.done() for task in later)
        seen["visible meanwhile"] = _committed(tmp_path / "loft.db")
        seen["commits meanwhile"] = len(commits)
        disk.set()
        seen["results"] = await asyncio.gather(first, *later)
        seen["commits"] = len(commits)
        await database.dispose()

    asyncio.run(main())
    assert seen["answered before the disk had it"] is False
    assert seen["visible meanwhile"] == {"+15550000001"}  # the first is committed; the others wait for its flush
    assert seen["commits meanwhile"] == 1
    assert seen["results"] == list(range(1, 10))
    assert seen["commits"] == 2  # the first group, then one for the eight that waited
    assert len(flushes) == 2  # the held one, then one for the group that waited


def test_with_normal_the_log_is_left_to_sqlite(tmp_path: Path) -> None:
    database = SqliteDatabase(f"sqlite:///{tmp_path / 'loft.db'}", synchronous="NORMAL")

    def never() -> None:
        raise AssertionError("NORMAL: acknowledged after the COMMIT, without a flush of Loft's")

    async def main() -> list[int]:
        await database.migrate()
        database._fsync_log = never  # type: ignore[method-assign]
        results = await asyncio.gather(*(database.submit(_insert(i)) for i in range(5)))
        await database.dispose()
        return list(results)

    assert asyncio.run(main()) == list(range(5))


def _open_temporary_files() -> list[str]:
    """SQLite's temporary files this process holds open (created in SQLITE_TMPDIR and unlinked at once)."""
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            names.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return [name for name in names if "etilqs_" in name]


def test_a_group_s_savepoints_keep_their_journal_in_memory(database: SqliteDatabase, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each writer of a group runs in a savepoint, which journals the pages it changes that the writers before it
    wrote; past 64 KiB SQLite would spill that journal to a temporary file (an open, an unlink and two writes per
    page, for every group): Loft keeps it in memory."""
    monkeypatch.setenv("SQLITE_TMPDIR", str(tmp_path))
    seen: list[str] = []

    def insert_many(conn: Any) -> Any:
        return conn.execute(insert(opt_outs), [_row(i) for i in range(2000)])

    async def update_all(conn: Any) -> int:
        changed = await conn.execute(text("UPDATE opt_outs SET account_sid = 'AC" + "1" * 32 + "'"))
        seen.extend(_open_temporary_files())  # the journal of this writer's savepoint, if it is in a file
        return int(changed.rowcount)

    async def main() -> tuple[object, int]:
        await database.migrate()
        done = await asyncio.gather(database.submit(insert_many), database.submit(update_all))  # one group
        await database.dispose()
        return done[0], done[1]

    _, updated = asyncio.run(main())
    assert updated == 2000
    assert seen == []
