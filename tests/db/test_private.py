"""SQLAlchemy's private parts that loft/db relies on (loft.db.private), each run on a real connection: an upgrade
that removes or changes one fails here, not in production."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler

from loft.db import private
from tests.conftest import fresh_database

metadata = MetaData()
kept = Table("private_kept", metadata, Column("id", Integer, primary_key=True), Column("name", String(16)),
             Column("at", DateTime(timezone=True)))


@pytest.fixture(scope="module")
def postgres(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _with_engine(url: str, body: Any, **options: Any) -> Any:
    async def main() -> Any:
        engine = create_async_engine(url, **options)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                await conn.execute(kept.delete())
            return await body(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _adapter(conn: AsyncConnection) -> Any:
    assert conn.sync_connection is not None
    return private.asyncpg_adapter(conn.sync_connection.connection.dbapi_connection)


def test_sqlalchemys_asyncpg_adapter_is_the_kind_loft_drives(postgres: str) -> None:
    async def body(engine: Any) -> Any:
        async with engine.connect() as conn:
            return _adapter(conn)

    assert _with_engine(postgres, body) is not None
    assert private.asyncpg_adapter(object()) is None  # anything else goes through SQLAlchemy


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_a_statement_on_the_driver_runs_in_the_transaction_sqlalchemy_ends(postgres: str, ending: str) -> None:
    """Begun through the adapter as SQLAlchemy would begin it, seen by SQLAlchemy's statements in it, and
    committed or rolled back by SQLAlchemy."""

    async def body(engine: Any) -> tuple[bool, Any, bool, set[str]]:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            adapter = _adapter(conn)
            begun_before = adapter._transaction is not None  # SQLAlchemy begins at the first statement
            driver = await private.driver_in_transaction(adapter)
            await driver.execute("INSERT INTO private_kept (id, name) VALUES (1, 'driver')")
            seen = (await conn.execute(select(kept.c.name))).scalar_one()
            also = await private.driver_in_transaction(adapter) is driver  # begun once
            await (transaction.commit() if ending == "commit" else transaction.rollback())
        async with engine.connect() as other:
            names = set((await other.execute(select(kept.c.name))).scalars())
        return begun_before, seen, also, names

    begun_before, seen, also, names = _with_engine(postgres, body)
    assert isinstance(seen, str) and seen == "driver"
    assert not begun_before and also
    assert names == ({"driver"} if ending == "commit" else set())


def test_sqlalchemys_transaction_settings_are_kept(postgres: str) -> None:
    async def body(engine: Any) -> str:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="SERIALIZABLE")
            async with conn.begin():
                driver = await private.driver_in_transaction(_adapter(conn))
                return str(await driver.fetchval("SHOW transaction_isolation"))

    assert _with_engine(postgres, body) == "serializable"


def test_asyncpg_errors_come_out_as_sqlalchemys(postgres: str) -> None:
    async def body(engine: Any) -> tuple[Exception, Exception, Exception, Any]:
        async with engine.connect() as conn, conn.begin():
            adapter = _adapter(conn)
            driver = await private.driver_in_transaction(adapter)
            await driver.execute("INSERT INTO private_kept (id) VALUES (2)")
            try:
                await driver.execute("INSERT INTO private_kept (id) VALUES (2)")
            except asyncpg.UniqueViolationError as exc:
                duplicate = exc
            else:
                raise AssertionError("no error for a duplicate key")
            refused = ConnectionRefusedError(111, "refused")
            return (duplicate, private.translated(adapter, duplicate), private.translated(adapter, refused),
                    engine.dialect.loaded_dbapi)

    duplicate, translated, refused, dbapi = _with_engine(postgres, body)
    # The DBAPI error SQLAlchemy wraps in its own IntegrityError (see loft.db.prepared's errors).
    assert isinstance(translated, dbapi.IntegrityError) and translated.__cause__ is duplicate
    assert isinstance(refused, ConnectionRefusedError)  # left as it is


def test_invalidating_the_pool_replaces_the_connections_opened_before(postgres: str) -> None:
    async def body(engine: Any) -> tuple[set[int], set[int], bool]:
        async def pid(conn: AsyncConnection) -> int:
            return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        async with engine.connect() as first, engine.connect() as second:
            before = {await pid(first), await pid(second)}
            sync = first.sync_connection
            assert sync is not None
            pooled = sync.connection
            private.invalidate_pool(engine.sync_engine.pool, pooled, RuntimeError("gone"))
            invalidated = not pooled.is_valid
            await first.invalidate()  # as loft.db.postgres does next
        async with engine.connect() as first, engine.connect() as second:
            after = {await pid(first), await pid(second)}
        return before, after, invalidated

    before, after, invalidated = _with_engine(postgres, body, pool_size=2)
    assert invalidated  # the connection itself at once
    assert not before & after  # and the other, opened before, at its next checkout


def test_a_compiled_statements_result_columns() -> None:
    compiled = select(kept.c.id, kept.c.name.label("label")).compile(dialect=sqlite.dialect())
    assert isinstance(compiled, SQLCompiler)
    columns = private.result_columns(compiled)
    assert [column.keyname for column in columns] == ["id", "label"]
    assert [type(column.type) for column in columns] == [Integer, String]
    assert private.result_columns(kept.insert().compile(dialect=sqlite.dialect())) == []


def test_sqlites_datetime_storage_format() -> None:
    default = private.storage_format(SQLITE_DATETIME)
    assert default == private.storage_format(SQLITE_DATETIME())  # type: ignore[no-untyped-call]
    assert default % {"year": 2026, "month": 12, "day": 5, "hour": 4, "minute": 5, "second": 6,
                      "microsecond": 7} == "2026-12-05 04:05:06.000007"  # what _SqliteStamp writes instead
    custom = SQLITE_DATETIME(storage_format="%(year)04d")  # type: ignore[no-untyped-call]
    assert private.storage_format(custom) == "%(year)04d"


def test_an_inserts_own_values_are_seen() -> None:
    assert not private.has_values(kept.insert())
    assert not private.has_values(kept.insert().returning(kept.c.id))
    assert private.has_values(kept.insert().values(name="x"))
    assert private.has_values(kept.insert().values([{"name": "x"}, {"name": "y"}]))
