"""On PostgreSQL a notification of new sends wakes one listening worker, each in turn, not every worker of the
deployment (loft.delivery.wakeups): with N workers, waking all made N claims per batch of sends. Each listening
worker keeps a row in ``listeners`` while it listens, and takes it off when it stops."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from loft.app import bootstrap
from loft.config import Settings
from loft.context import Loft
from loft.db.tables import listeners
from loft.delivery import wakeups

pytestmark = pytest.mark.postgres


async def _woken(lofts: list[Loft], timeout: float = 10.0) -> list[int]:
    """The indexes of the Lofts woken (their ``work_ready`` set) once a notification has come; cleared after."""
    deadline = time.monotonic() + timeout
    while not any(loft.work_ready.is_set() for loft in lofts) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # others woken by the same notification would be by now
    woken = [index for index, loft in enumerate(lofts) if loft.work_ready.is_set()]
    for loft in lofts:
        loft.work_ready.clear()
    return woken


async def _channels(loft: Loft) -> list[str]:
    async with loft.db.read() as conn:
        return [row.channel for row in (await conn.execute(select(listeners.c.channel))).all()]


async def _notify(api: Loft) -> None:
    async with api.db.write() as conn:
        wakeups.notify(conn)


def test_a_notification_wakes_one_listening_worker_in_turn(tmp_path: Path, own_postgres_database: str) -> None:
    async def main() -> tuple[str, list[list[int]], int, list[int], list[str]]:
        settings = [Settings(database_url=own_postgres_database, data_dir=tmp_path) for _ in range(4)]  # one key
        api, _ = await bootstrap(settings[0])
        workers = [(await bootstrap(each))[0] for each in settings[1:]]
        try:
            # No worker listening yet (or only workers of an older release): to all, on the shared channel.
            broadcast = await wakeups.Listeners(api.db).next()
            # Workers gone without a word: one a minute ago (no longer woken), one long ago (deleted as well).
            async with api.db.write() as conn:
                for channel, ago in (("loft_outbox_gone", "1 minute"), ("loft_outbox_long_gone", "20 minutes")):
                    await conn.execute(insert(listeners).values(channel=channel,
                                                                seen_at=func.now() - text(f"interval '{ago}'")))

            listening = [asyncio.create_task(wakeups.listen(worker)) for worker in workers]
            deadline = time.monotonic() + 10
            while len(await _channels(api)) != 4 and time.monotonic() < deadline:  # 3 listening + 1 gone
                await asyncio.sleep(0.05)
            await asyncio.sleep(wakeups.REFRESH_SECONDS)  # the API process's list is read again
            await _woken(workers)  # (each woke itself once it listened)
            rounds = []
            for _ in range(6):
                await _notify(api)
                rounds.append(await _woken(workers))
            for task in listening:
                task.cancel()
            await asyncio.gather(*listening, return_exceptions=True)
            per_worker = Counter(index for woken in rounds for index in woken)
            return broadcast, rounds, len(per_worker), sorted(per_worker.values()), await _channels(api)
        finally:
            for loft in [api, *workers]:
                await loft.close()

    broadcast, rounds, workers_woken, times_each, left = asyncio.run(main())
    assert broadcast == wakeups.CHANNEL
    assert all(len(woken) == 1 for woken in rounds), rounds  # one worker per notification, never all, nor none
    assert workers_woken == 3 and times_each == [2, 2, 2]  # each in turn
    assert left == ["loft_outbox_gone"]  # each took its row off as it stopped; the one gone long ago is deleted

