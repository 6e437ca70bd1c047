"""Batches on PostgreSQL (PostgresDatabase.submit_item) and many rows per INSERT (Conn.insert_rows), against a real database.

Items of one batch work submitted together share one transaction (where each had its own before); one that
fails fails alone and leaves nothing behind; rows written many to a statement come back as one at a time would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, insert, select, text

from loft.db.engine import Conn, Database
from loft.db.prepared import Prepared
from tests.support.databases import run_on

metadata = MetaData()
items = Table(
    "batched_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("options", JSON),
    Column("txid", String(32)),
)
_ONE = Prepared(insert(items).returning(items.c.id, items.c.name))
_MOMENT = datetime(2026, 12, 5, 4, 30, 15, 123456, tzinfo=UTC)




def _run(database: Database, body: Any) -> Any:
    return run_on(database, metadata, body)


async def _txid(conn: Conn) -> str:
    if conn.dialect.name == "postgresql":
        return str((await conn.execute(text("SELECT txid_current()"))).scalar())
    return "sqlite"  # (one transaction per group there, by construction)


async def _store(conn: Conn, names: list[str]) -> list[str | Exception]:
    """A batch work: one row per name; a name starting with "bad" is refused (nothing written for it)."""
    txid = await _txid(conn)
    good = [name for name in names if not name.startswith("bad")]
    await conn.insert_rows(_ONE, [{"name": name, "at": _MOMENT, "options": None, "txid": txid}
                                for name in good])
    return [ValueError(name) if name.startswith("bad") else txid for name in names]


async def _clash(conn: Conn, names: list[str]) -> list[str | Exception]:
    """A batch work whose statement fails for a name already stored (which spoils a PostgreSQL transaction)."""
    for name in names:
        await conn.execute(insert(items).values(name=name, at=_MOMENT))
    return [name for name in names]


def test_items_submitted_together_share_one_transaction(database: Database) -> None:
    async def body() -> tuple[list[Any], list[str]]:
        results = await asyncio.gather(*(database.submit_item(_store, f"item{n}") for n in range(40)),
                                       database.submit_item(_store, "bad one"), return_exceptions=True)
        async with database.read() as conn:
            stored = list((await conn.execute(select(items.c.name).order_by(items.c.name))).scalars())
        return results, stored

    results, stored = _run(database, body)
    assert isinstance(results[-1], ValueError)
    assert stored == sorted(f"item{n}" for n in range(40))  # the refused one left nothing
    # The first items start batches at once; the others, submitted meanwhile, go in the next ones (each item in
    # a transaction of its own would make 40).
    assert len(set(results[:-1])) <= 4


def test_a_failing_statement_fails_its_item_alone(database: Database) -> None:
    async def body() -> tuple[list[Any], list[str]]:
        await database.submit_item(_clash, "taken")
        results = await asyncio.gather(*(database.submit_item(_clash, name)
                                         for name in ("a", "taken", "b", "c")), return_exceptions=True)
        async with database.read() as conn:
            stored = list((await conn.execute(select(items.c.name).order_by(items.c.name))).scalars())
        return results, stored

    results, stored = _run(database, body)
    assert results[0] == "a" and results[2:] == ["b", "c"]
    assert isinstance(results[1], Exception)
    assert stored == ["a", "b", "c", "taken"]


@pytest.mark.parametrize("count", [1, 3, 37, 130])
def test_many_rows_come_back_as_one_at_a_time(database: Database, count: int) -> None:
    async def body() -> tuple[list[Any], list[Any]]:
        written = [{"name": f"row{n}", "at": _MOMENT, "options": {"n": n, "list": [1, None]} if n % 2 else None,
                    "txid": None} for n in range(count)]
        async with database.write() as conn:
            returned = await conn.insert_rows(_ONE, written)
        async with database.read() as conn:
            stored = list((await conn.execute(select(items).order_by(items.c.id))).all())
        return returned, stored

    returned, stored = _run(database, body)
    assert sorted(row.name for row in returned) == sorted(f"row{n}" for n in range(count))
    assert {row.id for row in returned} == {row.id for row in stored}
    for row in stored:
        n = int(row.name.removeprefix("row"))
        assert (row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)) == _MOMENT  # (SQLite keeps no zone)
        assert row.options == ({"n": n, "list": [1, None]} if n % 2 else None)
