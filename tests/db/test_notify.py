"""``Conn.notify_after_commit`` on a real PostgreSQL: the notification comes once the work is committed, never for a
work rolled back, and from a transaction of its own, coalesced per process — the writes themselves do not
``NOTIFY`` (PostgreSQL serialises the commits of every notifying transaction of a database). On SQLite it is a
no-op (its processes are woken through ``loft serve``'s pipes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import text

from loft.db.engine import Database, open_database
from tests.conftest import fresh_database


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    with fresh_database(request.getfixturevalue("postgres_url")) as found:
        yield found


async def _listening(url: str, channel: str) -> tuple[asyncpg.Connection, asyncio.Queue[tuple[int, str]]]:
    got: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    conn = await asyncpg.connect(url)
    await conn.add_listener(channel, lambda _conn, pid, name, _payload: got.put_nowait((pid, name)))
    return conn, got


def test_notifications_follow_commits_coalesced_and_never_a_rollback(url: str) -> None:
    async def main() -> None:
        database: Database = open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
        listener, got = await _listening(url, "wake")
        for channel in ("other", "never"):
            await listener.add_listener(channel, lambda _conn, pid, name, _payload: got.put_nowait((pid, name)))
        try:
            async def write(_: int) -> None:
                async with database.write() as conn:
                    await conn.execute(text("SELECT 1"))
                    conn.notify_after_commit("wake")

            await asyncio.gather(*(write(n) for n in range(100)))
            first = await asyncio.wait_for(got.get(), timeout=10)
            assert first[1] == "wake"

            # A rolled-back work asks in vain; a later commit's notification on another channel comes first
            # (one process sends its notifications one after the other, in the order asked).
            with pytest.raises(RuntimeError):
                async with database.write() as conn:
                    conn.notify_after_commit("never")
                    raise RuntimeError("rolled back")
            async with database.write() as conn:
                conn.notify_after_commit("other")
            received = [first]
            while received[-1][1] != "other":
                received.append(await asyncio.wait_for(got.get(), timeout=10))
            wakes = [item for item in received if item[1] == "wake"]
            # 100 commits asked (on a pool of 20): fewer notifications (coalesced), at least one; none for the
            # rolled-back work.
            assert 1 <= len(wakes) < 100, wakes
            assert "never" not in [name for _, name in received]
        finally:
            await listener.close()
            await database.dispose()

    asyncio.run(main())


def test_sqlite_has_nothing_to_notify(tmp_path: object) -> None:
    async def main() -> None:
        database = open_database(f"sqlite:///{tmp_path}/n.db")
        try:
            async with database.write() as conn:
                conn.notify_after_commit("wake")
                assert conn.hooks == []
        finally:
            await database.dispose()

    asyncio.run(main())
