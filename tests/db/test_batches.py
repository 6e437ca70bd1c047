"""Batches on PostgreSQL (PostgresDatabase.submit_item) and many rows per INSERT (Conn.insert_rows), against a real database.

Items of one batch work submitted together share one transaction (where each had its own before); one that
fails fails alone and leaves nothing behind; rows written many to a statement come back as one at a time would,
and on PostgreSQL all the rows of a call go in one statement, however many they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from loft.db.engine import Conn, Database, open_database
from loft.db.prepared import Prepared
from tests.conftest import fresh_database
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
        written = [{"name": f"row{n}", "at": _MOMENT, "options": _options(n), "txid": None} for n in range(count)]
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
        assert row.options == _options(n) and type(row.options) is type(_options(n))


def _options(n: int) -> Any:
    """A JSON column's values, in turn: SQL NULL, an object, an empty object and an empty list (the last two
    made into their JSON text once, as most rows hold one)."""
    return [None, {"n": n, "list": [1, None]}, {}, []][n % 4]


_MANY = Prepared(insert(items))
#: Counts the statements that insert into ``batched_items`` (a statement-level trigger: one call per statement,
#: whatever its number of rows).
_COUNTING = (
    "CREATE TABLE inserts (statements integer NOT NULL)",
    "INSERT INTO inserts VALUES (0)",
    "CREATE FUNCTION counted() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN UPDATE inserts SET statements = statements + 1; RETURN NULL; END $$",
    "CREATE TRIGGER counting AFTER INSERT ON batched_items FOR EACH STATEMENT EXECUTE FUNCTION counted()",
)


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def postgres(request: pytest.FixtureRequest) -> Iterator[Database]:
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))


def test_all_the_rows_of_a_call_go_in_one_statement_on_postgres(postgres: Database) -> None:
    async def body() -> tuple[list[int], int, list[Any]]:
        async with postgres.write() as conn:
            for statement in _COUNTING:
                await conn.execute(text(statement))
        counts = []
        async with postgres.write() as conn:
            returned = await conn.insert_rows(_ONE, [{"name": f"row{n}", "at": _MOMENT, "options": [n],
                                                      "txid": None} for n in range(130)])
            counts.append((await conn.execute(text("SELECT statements FROM inserts"))).scalar_one())
            changed = await conn.execute_many(_MANY, [{"name": f"more{n}", "at": _MOMENT, "options": {"n": n},
                                                       "txid": str(n)} for n in range(37)])
            counts.append((await conn.execute(text("SELECT statements FROM inserts"))).scalar_one())
        async with postgres.read() as conn:
            stored = list((await conn.execute(select(items.c.name, items.c.options, items.c.txid)
                                              .where(items.c.name.like("more%")).order_by(items.c.id))).all())
        return counts, changed, [len(returned), stored]

    counts, changed, (returned, stored) = _run(postgres, body)
    assert counts == [1, 2]  # 130 rows in one statement (in VALUES lists of 16 rows at most, it took 9), 37 in one
    assert returned == 130 and changed == 37
    assert stored == [(f"more{n}", {"n": n}, str(n)) for n in range(37)]  # in order, with their JSON and text


def test_all_the_rows_of_a_call_go_in_one_statement_on_sqlite_in_parts_beyond_its_limit(tmp_path: Path) -> None:
    """SQLite too writes the rows of ``insert_rows`` and of a one-row ``INSERT``'s ``execute_many`` (the outbox's
    jobs) as one ``INSERT … VALUES (…), (…)``, not one statement per row; past the number of values a statement
    may bind (lowered here to 40: 10 rows of 4), in as few parts as that allows, every row written once."""
    import sqlite3

    database = open_database(f"sqlite:///{tmp_path / 'rows.db'}")
    traced: list[str] = []

    async def body() -> tuple[int, int, int, list[Any]]:
        async with database.write() as conn:
            raw = conn._sync.connection.dbapi_connection  # type: ignore[attr-defined]
            raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)
            raw.set_trace_callback(lambda sql: traced.append(sql) if sql.startswith("INSERT") else None)
            try:
                changed = await conn.execute_many(_MANY, [{"name": f"many{n}", "at": _MOMENT, "options": {"n": n},
                                                           "txid": str(n)} for n in range(8)])
                inserts_of_many = len(traced)
                changed += await conn.execute_many(_MANY, [{"name": f"more{n}", "at": _MOMENT, "options": None,
                                                            "txid": None} for n in range(25)])
                returned = await conn.insert_rows(_ONE, [{"name": f"row{n}", "at": _MOMENT, "options": [n],
                                                          "txid": None} for n in range(10)])
            finally:
                raw.set_trace_callback(None)
                raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
        async with database.read() as conn:
            stored = list((await conn.execute(select(items.c.name, items.c.options, items.c.txid)
                                              .order_by(items.c.id))).all())
        return changed, inserts_of_many, len(returned), stored

    changed, inserts_of_many, returned, stored = _run(database, body)
    assert inserts_of_many == 1 and len(traced) == 1 + 3 + 1  # 8 rows in one; 25 in 10 + 10 + 5; 10 in one
    assert changed == 33 and returned == 10
    assert stored == [*[(f"many{n}", {"n": n}, str(n)) for n in range(8)],
                      *[(f"more{n}", None, None) for n in range(25)],
                      *[(f"row{n}", [n], None) for n in range(10)]]


def test_an_insert_with_a_value_written_as_an_expression_goes_in_one_row_at_a_time_on_sqlite(tmp_path: Path) -> None:
    """Only an ``INSERT`` whose ``VALUES`` are placeholders alone is written many rows to a statement; another
    (here ``lower(?)``) is run once per row, as before, not refused."""
    from sqlalchemy import bindparam, func

    lowered = Prepared(insert(items).values(name=func.lower(bindparam("name")), at=bindparam("at")))
    database = open_database(f"sqlite:///{tmp_path / 'rows.db'}")

    async def body() -> tuple[bool, int, list[str]]:
        async with database.write() as conn:
            changed = await conn.execute_many(lowered, [{"name": f"ROW{n}", "at": _MOMENT} for n in range(3)])
            plan = lowered.plan(conn.dialect, ("name", "at"))
        async with database.read() as conn:
            names = list((await conn.execute(select(items.c.name).order_by(items.c.id))).scalars())
        return plan is not None and plan.takes_rows, changed, names

    assert _run(database, body) == (False, 3, ["row0", "row1", "row2"])


def test_a_value_too_long_for_its_column_is_refused_in_many_rows_as_in_one(postgres: Database) -> None:
    """Many rows go in as a JSON document read as ``TEXT`` (or as arrays, ``unnest($1::TEXT[], …)``): a
    value longer than its column is refused, as a one-row ``INSERT`` refuses it, not cut to the column's length by
    a cast (``VARCHAR(32)`` would)."""
    too_long = "x" * 33

    async def body() -> tuple[list[str], list[str]]:
        errors = []
        for rows in ([{"name": too_long}], [{"name": "fits"}, {"name": too_long}]):
            try:
                async with postgres.write() as conn:
                    await conn.insert_rows(_ONE, [{**row, "at": _MOMENT, "options": None, "txid": None}
                                                  for row in rows])
            except DBAPIError as exc:  # (SQLAlchemy's asyncpg adapter makes this one its plain Error)
                errors.append(str(exc.orig).splitlines()[0])
        async with postgres.read() as conn:
            return errors, list((await conn.execute(select(items.c.name))).scalars())

    errors, stored = _run(postgres, body)
    assert len(errors) == 2 and all("value too long for type character varying(32)" in error for error in errors)
    assert stored == []


kinds = Table(
    "batched_kinds",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("label", String(16), nullable=False),
    Column("words", Text, nullable=False),
    Column("count", BigInteger),
    Column("flag", Boolean),
    Column("at", DateTime(timezone=True)),
    Column("doc", JSON),
)
blobs = Table(
    "batched_blobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", String(16), nullable=False),
    Column("data", LargeBinary, nullable=False),
)
#: Text that JSON must escape, or carry as it is: quotes, a backslash, control characters, accents, an emoji
#: (outside the BMP), and what looks like an escape but is not one.
_AWKWARD = 'say "hi"\\n\\u0041 \\ tab\there\nline\r\x01 é 漢字 😀 %00 {"a": 1} \'quoted\''
_KINDS: list[dict[str, Any]] = [
    {"words": _AWKWARD, "count": 2**62, "flag": True, "at": _MOMENT, "doc": {"nested": [1, "two", None]}},
    {"words": "", "count": -1, "flag": False, "at": datetime(2026, 12, 5, 4, 30, 15), "doc": None},  # naive: UTC
    {"words": "plain", "count": None, "flag": None, "at": None, "doc": [_AWKWARD]},
    {"words": "x", "count": 0, "flag": True, "at": datetime(2026, 1, 1, tzinfo=UTC), "doc": "a string"},
]
_EACH = Prepared(insert(kinds).returning(kinds.c.id, kinds.c.label))
_SHAPE = text("SELECT label, words, count, flag, at, doc::text AS doc_text, doc IS NULL AS sql_null "
              "FROM batched_kinds ORDER BY id")


def test_many_rows_store_every_kind_of_value_as_one_row_does_on_postgres(postgres: Database) -> None:
    """What a batch of rows stores, PostgreSQL stores byte for byte as it does each row inserted alone: text that
    JSON escapes, 64-bit integers, booleans, timestamps with and without a zone (naive ones are UTC, as asyncpg
    takes them), JSON documents, and a JSON column's ``None`` as JSON ``null``, not SQL ``NULL``, as SQLAlchemy
    writes it."""

    async def body() -> list[Any]:
        async with postgres.write() as conn:
            for index, row in enumerate(_KINDS):
                await conn.execute(_EACH, {**row, "label": f"one{index}"})
        async with postgres.write() as conn:
            returned = await conn.insert_rows(_EACH, [{**row, "label": f"many{index}"}
                                                      for index, row in enumerate(_KINDS)])
            assert sorted(row.label for row in returned) == [f"many{index}" for index in range(len(_KINDS))]
        async with postgres.read() as conn:
            return list((await conn.execute(_SHAPE)).all())

    stored = _run(postgres, body)
    alone = [tuple(row[1:]) for row in stored if row.label.startswith("one")]
    together = [tuple(row[1:]) for row in stored if row.label.startswith("many")]
    assert len(alone) == len(_KINDS) and together == alone
    assert alone[0][0] == _AWKWARD and alone[0][1] == 2**62
    assert alone[1][3] == datetime(2026, 12, 5, 4, 30, 15, tzinfo=UTC)
    assert [row[-1] for row in alone] == [False, False, False, False]  # doc None is JSON null, never SQL NULL


def test_many_rows_of_a_type_json_does_not_carry_go_as_arrays_on_postgres(postgres: Database) -> None:
    """Bytes have no JSON form: a batch with a binary column goes as arrays, and its bytes come back whole."""
    written = [{"label": f"blob{n}", "data": bytes(range(n, n + 40))} for n in range(3)]

    async def body() -> list[Any]:
        async with postgres.write() as conn:
            assert await conn.execute_many(Prepared(insert(blobs)), written) == 3
        async with postgres.read() as conn:
            return list((await conn.execute(select(blobs.c.label, blobs.c.data).order_by(blobs.c.id))).all())

    assert [tuple(row) for row in _run(postgres, body)] == [(row["label"], row["data"]) for row in written]
