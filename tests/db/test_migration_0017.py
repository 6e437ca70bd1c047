"""Revision 0017: a transaction that writes a message does not lock its account's row on PostgreSQL (no foreign key
there: every create of a deployment would lock the main account's row); SQLite keeps the key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from loft.db import tables
from loft.db.engine import Database, open_database
from tests.conftest import fresh_database
from tests.support.rows import ACCOUNT, account, message


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    with fresh_database(request.getfixturevalue("postgres_url")) as found:
        yield found


def test_writing_a_message_leaves_its_account_row_unlocked(postgres: str) -> None:
    async def main() -> tuple[list[Any], list[str]]:
        database = open_database(postgres.replace("postgresql://", "postgresql+asyncpg://", 1))
        other = await asyncpg.connect(postgres)
        try:
            await database.migrate()
            async with database.write() as conn:
                await conn.execute(insert(tables.accounts).values(account()))
            async with database.write() as conn:
                await conn.execute(insert(tables.messages).values(message(1)))
                # While the message's transaction is open, another takes the account's row for an update (what
                # a foreign key's lock forbids): at once, or not at all.
                async with other.transaction():
                    locked = await other.fetch("SELECT sid FROM accounts WHERE sid = $1 FOR UPDATE NOWAIT", ACCOUNT)
            keys = await other.fetch("SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass "
                                     "AND contype = 'f'")
            return [row["sid"] for row in locked], [row["conname"] for row in keys]
        finally:
            await other.close()
            await database.dispose()

    locked, keys = asyncio.run(main())
    assert locked == [ACCOUNT]
    assert keys == []


def test_sqlite_keeps_the_key(tmp_path: Path) -> None:
    async def main(database: Database) -> None:
        try:
            await database.migrate()
            async with database.write() as conn:
                await conn.execute(insert(tables.accounts).values(account()))
                await conn.execute(insert(tables.messages).values(message(1)))
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                async with database.write() as conn:
                    await conn.execute(insert(tables.messages).values(message(2, account_sid="AC" + "1" * 32)))
            async with database.read() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM messages"))).scalar_one() == 1
        finally:
            await database.dispose()

    asyncio.run(main(open_database(f"sqlite:///{tmp_path / 'loft.db'}")))
