"""``INSERT … ON CONFLICT DO NOTHING`` in each dialect's own words."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignore(conn: AsyncConnection, table: Table, **values: Any) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing())
    else:
        await conn.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing())
