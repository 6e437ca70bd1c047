"""Dialect-specific writes: ``INSERT … ON CONFLICT DO NOTHING`` and transaction-scoped locks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite

from loft.db.engine import Conn


async def insert_ignore(conn: Conn, table: Table, **values: Any) -> bool:
    """Insert the row unless one with the same key exists; whether it was inserted."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = await conn.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())
    return bool(inserted.rowcount == 1)


async def lock(conn: Conn, key: str) -> None:
    """Serialise transactions that check-then-write the same thing (a transaction-scoped lock).

    SQLite needs nothing: its write transactions already run one at a time.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
