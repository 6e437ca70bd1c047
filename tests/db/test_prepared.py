"""Prepared statements (loft.db.prepared): they run straight on the driver (sqlite3, asyncpg), and must give
exactly what SQLAlchemy gives for the same statement (values in, rows out, errors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, NoResultFound

from loft.db.engine import Database
from loft.db.prepared import Prepared, among, list_length, values_of
from tests.support.databases import run_on

metadata = MetaData()
things = Table(
    "prepared_things",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("later", DateTime(timezone=True)),
    Column("options", JSON),
    Column("flag", Boolean, nullable=False, default=False),
    Column("count", Integer, nullable=False, default=7),
    Column("price", Numeric(10, 5)),
)
stamped = Table(
    "prepared_stamped",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("stamp", String(32), default=lambda: "made-by-a-function"),
)

_INSERT = Prepared(insert(things).returning(*things.c))
_BY_NAME = Prepared(select(things).where(things.c.name == bindparam("name")))
_NAMES = Prepared(select(things.c.name).order_by(things.c.name))
_TOUCH = Prepared(update(things).where(things.c.name == bindparam("target")))
_MOMENT = datetime(2026, 11, 25, 14, 30, 15, 123456, tzinfo=UTC)




def _run(database: Database, body: Any) -> Any:
    return run_on(database, metadata, body)


def _plain(row: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    for key in ("at", "later"):
        if values.get(key) is not None:
            values[key] = values[key].replace(tzinfo=UTC) if values[key].tzinfo is None else values[key]
    return values


def test_rows_are_the_ones_sqlalchemy_gives(database: Database) -> None:
    given = {"name": "a", "at": _MOMENT, "later": None, "options": {"x": [1, "é"], "none": None},
             "flag": True, "price": "0.00750"}

    async def body() -> tuple[Any, Any, Any]:
        async with database.write() as conn:
            inserted = (await conn.execute(_INSERT, given)).one()
            # Both statements really take the driver's path (nothing fell back to SQLAlchemy).
            assert _INSERT.plan(conn.dialect, tuple(given)) is not None
            assert _BY_NAME.plan(conn.dialect, ("name",)) is not None
        async with database.read() as conn:
            fast = (await conn.execute(_BY_NAME, {"name": "a"})).one()
            slow = (await conn.execute(_BY_NAME.statement, {"name": "a"})).one()
        return inserted, fast, slow

    inserted, fast, slow = _run(database, body)
    assert _plain(fast) == _plain(slow) == _plain(inserted)
    assert fast.options == {"x": [1, "é"], "none": None}
    assert fast.flag is True and fast.count == 7  # a scalar column default, filled in
    assert str(fast.price) == "0.00750"
    assert fast[1] == fast.name == "a"
    assert _plain(fast)["at"] == _MOMENT


def test_json_none_and_sql_null_are_kept_apart(database: Database) -> None:
    async def body() -> list[Any]:
        async with database.write() as conn:
            await conn.execute(_INSERT, {"name": "json-null", "at": _MOMENT, "options": None})
        async with database.read() as conn:
            fast = (await conn.execute(_BY_NAME, {"name": "json-null"})).one()
            slow = (await conn.execute(_BY_NAME.statement, {"name": "json-null"})).one()
        return [fast.options, slow.options]

    assert _run(database, body) == [None, None]


def test_empty_json_objects_and_lists_are_written_as_sqlalchemy_writes_them(database: Database) -> None:
    """A JSON column's empty object and list (most rows hold one) are written from what the column's own processor
    made of them once: the same stored text as SQLAlchemy's statement, and read back as they were given."""
    from sqlalchemy import String as Text
    from sqlalchemy import cast

    stored = select(things.c.name, cast(things.c.options, Text()).label("text")).order_by(things.c.name)

    async def body() -> dict[str, tuple[Any, str]]:
        async with database.write() as conn:
            for name, options in (("object", {}), ("list", []), ("full", {"a": []}), ("text", "")):
                await conn.execute(_INSERT, {"name": f"fast-{name}", "at": _MOMENT, "options": options})
                await conn.execute(_INSERT.statement, {"name": f"slow-{name}", "at": _MOMENT, "options": options})
        async with database.read() as conn:
            options = {row.name: row.options for row in (await conn.execute(
                select(things.c.name, things.c.options))).all()}
            texts = {row.name: row.text for row in (await conn.execute(stored)).all()}
        return {name: (options[name], texts[name]) for name in options}

    found = _run(database, body)
    for name, given in (("object", {}), ("list", []), ("full", {"a": []}), ("text", "")):
        assert found[f"fast-{name}"] == found[f"slow-{name}"], name
        assert found[f"fast-{name}"][0] == given and type(found[f"fast-{name}"][0]) is type(given), name


def test_update_counts_rows_and_results_behave_like_sqlalchemys(database: Database) -> None:
    async def body() -> dict[str, Any]:
        async with database.write() as conn:
            for name in ("b", "c"):
                await conn.execute(_INSERT, {"name": name, "at": _MOMENT})
            touched = await conn.execute(_TOUCH, {"target": "b", "count": 99})
            missed = await conn.execute(_TOUCH, {"target": "zz", "count": 1})
        async with database.read() as conn:
            names = await conn.execute(_NAMES)
            out: dict[str, Any] = {"touched": touched.rowcount, "missed": missed.rowcount,
                                   "all": [row.name for row in names.all()]}
            out["scalar"] = (await conn.execute(_NAMES)).scalar()
            out["count"] = (await conn.execute(_BY_NAME, {"name": "b"})).one().count
            out["none"] = (await conn.execute(_BY_NAME, {"name": "zz"})).first()
            out["one_or_none"] = (await conn.execute(_BY_NAME, {"name": "zz"})).one_or_none()
            with pytest.raises(NoResultFound):
                (await conn.execute(_BY_NAME, {"name": "zz"})).one()
            with pytest.raises(MultipleResultsFound):
                (await conn.execute(_NAMES)).scalar_one()
        return out

    assert _run(database, body) == {"touched": 1, "missed": 0, "all": ["b", "c"], "scalar": "b", "count": 99,
                                    "none": None, "one_or_none": None}


def test_a_broken_constraint_is_sqlalchemys_error_without_the_values(database: Database) -> None:
    secret = "do-not-log-this-body"

    async def body() -> IntegrityError:
        async with database.write() as conn:
            await conn.execute(_INSERT, {"name": "dup", "at": _MOMENT, "options": {"body": secret}})
        with pytest.raises(IntegrityError) as caught:
            async with database.write() as conn:
                await conn.execute(_INSERT, {"name": "dup", "at": _MOMENT, "options": {"body": secret}})
        async with database.read() as conn:
            assert [row.name for row in (await conn.execute(_NAMES)).all()] == ["dup"]
        return caught.value

    assert secret not in str(_run(database, body))


def test_a_default_made_by_a_function_is_left_to_sqlalchemy(database: Database) -> None:
    async def body() -> Any:
        async with database.write() as conn:
            stamping = Prepared(insert(stamped).returning(stamped.c.stamp))
            assert stamping.plan(conn.dialect, ("name",)) is None  # left to SQLAlchemy
            return (await conn.execute(stamping, {"name": "s"})).scalar_one()

    assert _run(database, body) == "made-by-a-function"


def test_several_parameter_sets_go_through_sqlalchemy(database: Database) -> None:
    async def body() -> list[str]:
        async with database.write() as conn:
            await conn.execute(Prepared(insert(things)), [{"name": "m1", "at": _MOMENT}, {"name": "m2", "at": _MOMENT}])
        async with database.read() as conn:
            return [row.name for row in (await conn.execute(_NAMES)).all()]

    assert _run(database, body) == ["m1", "m2"]


_AMONG = {length: Prepared(select(things.c.name).where(among(things.c.name, "wanted", length)).order_by(things.c.name))
          for length in (1, 2, 4, 8)}


def test_among_finds_the_listed_rows_on_both_databases(database: Database) -> None:
    """``among`` (``IN (…)`` padded on SQLite, ``= ANY(array)`` on PostgreSQL) finds exactly the values listed,
    whatever their number; a value longer than the column matches nothing (no cast cuts it short)."""
    names = ["a", "bb", "ccc", "dddd", "x" * 32]

    async def body() -> dict[tuple[str, ...], list[str]]:
        async with database.write() as conn:
            for name in names:
                await conn.execute(_INSERT, {"name": name, "at": _MOMENT})
        found: dict[tuple[str, ...], list[str]] = {}
        async with database.read() as conn:
            for wanted in (["a"], ["bb", "dddd", "none"], ["ccc", "a", "zz", "x" * 32, "bb"], ["x" * 33]):
                statement = _AMONG[list_length(len(wanted))]
                assert statement.plan(conn.dialect, tuple(values_of("wanted", wanted))) is not None  # the driver's
                rows = (await conn.execute(statement, values_of("wanted", wanted))).all()
                found[tuple(wanted)] = [row.name for row in rows]
        return found

    assert _run(database, body) == {
        ("a",): ["a"],
        ("bb", "dddd", "none"): ["bb", "dddd"],
        ("ccc", "a", "zz", "x" * 32, "bb"): ["a", "bb", "ccc", "x" * 32],
        ("x" * 33,): [],
    }


def test_among_is_one_statement_on_postgresql_and_padded_placeholders_on_sqlite() -> None:
    """PostgreSQL gets one statement for lists of any length (one prepared statement per connection, planned
    without estimating each value), its array a ``TEXT[]`` (a type asyncpg knows without querying the catalog
    on each new connection, as it does for ``VARCHAR[]``); SQLite one per :func:`list_length` with that many
    placeholders."""
    keys = tuple(values_of("wanted", ["a", "b", "c"]))
    dialect = asyncpg.dialect()  # type: ignore[no-untyped-call]
    postgres = {_AMONG[length].plan(dialect, keys).sql for length in _AMONG}  # type: ignore[union-attr]
    assert len(postgres) == 1 and "= ANY ($1::TEXT[])" in postgres.pop()
    sqlite_plans = [_AMONG[length].plan(sqlite.dialect(), keys) for length in _AMONG]
    assert [plan.names for plan in sqlite_plans if plan] == [
        tuple(f"wanted{index}" for index in range(length)) for length in _AMONG]
    assert all(plan and plan.sql.count("?") == length for plan, length in zip(sqlite_plans, _AMONG))


def test_sqlite_timestamps_are_written_as_sqlalchemy_writes_them_whatever_came_before() -> None:
    """The SQLite ``DATETIME`` processor remembers the second it wrote last: stamps within it and either side of
    it, naive ones, other zones (the wall clock's text, as SQLAlchemy drops the zone), a whole second, dates, and the
    ends of Python's calendar are written as SQLAlchemy's own processor writes them, in any order."""
    from datetime import date, timedelta, timezone

    from sqlalchemy.dialects.sqlite import DATETIME

    from loft.db.prepared import bind_processor

    dialect = sqlite.dialect()
    kind = DATETIME()  # type: ignore[no-untyped-call]
    reference = kind.bind_processor(dialect)
    fast = bind_processor(kind, dialect)
    assert reference is not None and fast is not None and fast is not reference
    moment = datetime(2026, 12, 6, 20, 1, 2, 999_999, tzinfo=UTC)
    given = [moment, moment + timedelta(microseconds=1), moment - timedelta(microseconds=999_999),
             moment.replace(tzinfo=None), moment.astimezone(timezone(timedelta(hours=2))), moment,
             moment.replace(microsecond=0), moment - timedelta(seconds=1), datetime(1, 1, 1), datetime(1, 1, 1, tzinfo=UTC),
             datetime(9999, 12, 31, 23, 59, 59, 999_999), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
             date(2026, 12, 6), None, moment]
    for value in [*given, *reversed(given)]:
        assert fast(value) == reference(value), value


def test_sqlite_binds_none_through_an_adapter_and_stores_null() -> None:
    """``loft.db.sqlite`` registers an adapter for ``None`` (found before ``sqlite3`` looks up ``__adapt__``,
    which raises and drops an ``AttributeError`` for each NULL otherwise); NULL is still what is stored."""
    import sqlite3

    import loft.db.sqlite  # noqa: F401 - registers it

    adapter = sqlite3.adapters.get((type(None), sqlite3.PrepareProtocol))
    assert adapter is not None and adapter(None) is None
    raw = sqlite3.connect(":memory:")
    raw.execute("CREATE TABLE t (a, b)")
    raw.execute("INSERT INTO t VALUES (?, ?)", (None, 0))
    raw.executemany("INSERT INTO t VALUES (?, ?)", [(None, 1), ("x", None)])
    assert raw.execute("SELECT typeof(a), typeof(b) FROM t ORDER BY rowid").fetchall() == [
        ("null", "integer"), ("null", "integer"), ("text", "null")]
    assert raw.execute("SELECT count(*) FROM t WHERE a IS NULL").fetchone() == (2,)


class _KeysSeen(dict[str, Any]):
    """A mapping that notes the exact type of every key it is asked for."""

    seen: set[type]

    def __getitem__(self, key: str) -> Any:
        self.seen.add(type(key))
        return super().__getitem__(key)


def test_values_are_looked_up_by_plain_strings_not_sqlalchemys_column_names() -> None:
    """A column's key is SQLAlchemy's ``quoted_name``, a ``str`` subclass that a dict finds only through its slow path
    (hashed anew, compared by value): a record made from written values, and a plan's scalar defaults, use plain
    ``str`` keys instead (a create looks up every column of a message twice)."""
    from loft.db.prepared import record_class

    assert {type(column.key) for column in things.columns} != {str}  # what this guards against is still there
    values = _KeysSeen(name="x", at=_MOMENT, later=None, options=None, flag=True, count=1, price=None)
    values.seen = set()
    record = record_class(things, first="id")(5, values)
    assert record.id == 5 and record.name == "x" and values.seen == {str}
    plan = _INSERT.plan(sqlite.dialect(), ("name", "at"))
    assert plan is not None and set(plan.fixed) >= {"flag", "count"}
    assert {type(key) for key in plan.fixed} == {str}


def test_a_column_null_in_every_row_of_a_batch_is_written_null_not_bound() -> None:
    """A multi-row INSERT writes ``NULL`` in its text for a column that is None in every row of the batch (``sqlite3``
    binds None through its adaptation protocol, the dearest of its values), binds it where any row has a value,
    and stores what SQLAlchemy would: the rows read back alike, whichever columns were NULL in which rows."""
    import sqlite3

    from loft.db.prepared import _nulls

    assert _nulls([[1, None, None, "x"], [2, None, None, "y"]]) == (1, 2)
    assert _nulls([[1, None, None], [2, None, 3]]) == (1,)  # the third is given in one row: bound
    assert _nulls([[1, None], [None, 2]]) == ()
    assert _nulls([[1, 2]]) == ()
    keys = ("name", "at", "later", "options", "flag", "count", "price")
    plan = _INSERT.plan(sqlite.dialect(), keys)
    assert plan is not None and plan.takes_rows
    raw = sqlite3.connect(":memory:", isolation_level=None)
    raw.execute("CREATE TABLE prepared_things (id INTEGER PRIMARY KEY, name VARCHAR(32) NOT NULL UNIQUE, at DATETIME "
                "NOT NULL, later DATETIME, options JSON, flag BOOLEAN NOT NULL, count INTEGER NOT NULL, price NUMERIC)")
    plan.resolve(sqlite.dialect(), [None] * len(plan.types))

    def row(name: str, later: datetime | None = None, price: str | None = None) -> dict[str, Any]:
        return {"name": name, "at": _MOMENT, "later": later, "options": None, "flag": False, "count": 1,
                "price": price}

    batches = [[row("a"), row("b")], [row("c", later=_MOMENT), row("d")], [row("e", price="1.5")], [row("f")]]
    for batch in batches:
        returned = plan.run_rows(raw, batch)
        assert sorted(found.name for found in returned.all()) == [given["name"] for given in batch]
    later, price = plan.names.index("later"), plan.names.index("price")
    texts = {(size, nulls): sql for (size, nulls), sql in plan._for_rows.items()}
    assert set(texts) == {(2, (later, price)), (2, (price,)), (1, (later,)), (1, (later, price))}
    for (size, nulls), sql in texts.items():  # NULL written once per row per such column, the rest bound
        assert sql.count("NULL") == size * len(nulls) and sql.count("?") == size * (len(plan.names) - len(nulls))
    stored = raw.execute("SELECT name, typeof(later), options, typeof(price), price FROM prepared_things "
                         "ORDER BY name").fetchall()
    assert stored == [("a", "null", "null", "null", None), ("b", "null", "null", "null", None),
                      ("c", "text", "null", "null", None), ("d", "null", "null", "null", None),
                      ("e", "null", "null", "real", 1.5), ("f", "null", "null", "null", None)]
