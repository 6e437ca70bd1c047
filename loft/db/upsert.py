"""Dialect-specific writes: ``INSERT … ON CONFLICT DO NOTHING`` and transaction-scoped locks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite

from loft.db.engine import Conn


async def insert_ignore(conn: Conn, table: Table, **values: Any) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing())
    else:
        await conn.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing())


async def lock(conn: Conn, key: str) -> None:
    """Serialise transactions that check-then-write the same thing (a transaction-scoped lock).

    SQLite needs nothing: its write transactions already run one at a time.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
