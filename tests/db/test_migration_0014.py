"""Revision 0014 on PostgreSQL: ``messages`` pages keep room for their rows' updates, which are then made in place
(heap-only tuples: no new entry in any of the table's five indexes). A table filled to 100 % (PostgreSQL's default)
makes almost none of them in place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text, update

from loft.db import tables
from loft.db.engine import open_database
from tests.conftest import fresh_database
from tests.support.rows import account, message

ROWS = 400


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    with fresh_database(request.getfixturevalue("postgres_url")) as found:
        yield found.replace("postgresql://", "postgresql+asyncpg://", 1)


def test_messages_are_updated_in_place(url: str) -> None:
    async def main() -> tuple[list[str], int]:
        database = open_database(url)
        try:
            await database.migrate()
            now = datetime.now(UTC)
            async with database.write() as conn:
                options = (await conn.execute(text(
                    "SELECT reloptions FROM pg_class WHERE relname = 'messages'"))).scalar_one()
                await conn.execute(insert(tables.accounts).values(account()))
                await conn.execute(insert(tables.messages), [message(n, to_addr=f"+1415555{n:04d}", body="Hello " * 20)
                                                             for n in range(ROWS)])
            async with database.write() as conn:  # what delivery does: status, dates and price change
                await conn.execute(update(tables.messages).values(
                    status="delivered", date_sent=now, date_updated=now, price_quote="-0.00790"))
                in_place = (await conn.execute(text(
                    "SELECT pg_stat_get_xact_tuples_hot_updated('messages'::regclass)"))).scalar_one()
            return options, in_place
        finally:
            await database.dispose()

    options, in_place = asyncio.run(main())
    assert options == ["fillfactor=70"]
    # A page filled to 70 % has room for the new versions of ~40 % of its rows (the old ones are not dead yet
    # within one transaction); filled to 100 % it has room for none but the last page's.
    assert in_place >= 0.3 * ROWS, f"{in_place} of {ROWS} updates in place"
