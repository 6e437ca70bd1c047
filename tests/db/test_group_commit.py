"""SQLite group commit (loft.db.engine.Database.write): many writers share one transaction, each in a savepoint;
``write()`` returns only once the group is committed; a writer that fails takes only its own work back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from loft.db import engine
from loft.db.engine import Database
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
def database(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'loft.db'}")


def test_concurrent_writers_share_commits_and_each_returns_committed(database: Database, tmp_path: Path) -> None:
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


def test_a_failing_writer_takes_back_only_its_own_work(database: Database, tmp_path: Path) -> None:
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


def test_a_cancelled_writer_leaves_the_group_to_be_committed(database: Database, tmp_path: Path) -> None:
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


def test_the_log_is_checkpointed_beside_the_writers_not_in_their_commits(database: Database, tmp_path: Path
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
        await asyncio.sleep(engine.CHECKPOINT_EVERY)
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


async def _checkpointed(database: Database, count: int) -> None:
    for _ in range(200):
        if database.checkpoints >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{database.checkpoints} checkpoints, expected {count}")
