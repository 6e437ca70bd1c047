"""Every private part of SQLAlchemy that loft/db relies on, in one place, behind small functions.

Loft's hot statements skip SQLAlchemy's execution machinery (see :mod:`loft.db.prepared`), and on PostgreSQL run
straight on the asyncpg connection inside the transaction SQLAlchemy keeps for it (see
:class:`loft.db.postgres.PostgresConn`). That needs a few of SQLAlchemy's private attributes, which a release may
rename or change without notice. They are used nowhere else in Loft; ``pyproject.toml`` pins SQLAlchemy and
asyncpg to the releases they were checked against, and ``tests/db/test_private.py`` runs each on a real
connection, so that an upgrade that breaks one fails there rather than in production.

Checked against SQLAlchemy 2.1.9 and asyncpg 0.32.0:

- ``AsyncAdapt_asyncpg_connection._transaction`` (``sqlalchemy.dialects.postgresql.asyncpg``): the asyncpg
  transaction SQLAlchemy's adapter began, None until the first statement of a SQLAlchemy transaction (the
  adapter begins lazily) and once it is committed or rolled back.
- ``AsyncAdapt_asyncpg_connection._start_transaction()``: begins that transaction as SQLAlchemy would (its
  isolation level, read-only and deferrable settings), so that SQLAlchemy commits or rolls it back as its own.
- ``AsyncAdapt_asyncpg_connection._handle_exception(error)``: raises asyncpg's ``error`` as SQLAlchemy's DBAPI
  error of the same kind (``IntegrityError`` for a unique violation, …), forgetting the transaction if the
  connection is closed.
- ``Pool._invalidate(connection, exception)`` (``sqlalchemy.pool.base``): invalidates ``connection`` and has
  every connection of the pool opened before it replaced at its next checkout, as SQLAlchemy does after a
  disconnect it noticed itself.
- ``SQLCompiler._result_columns`` (``sqlalchemy.sql.compiler``): the result columns of a compiled statement
  (``keyname``, ``type``, …), from which SQLAlchemy itself builds result rows.
- ``DATETIME._storage_format`` (``sqlalchemy.dialects.sqlite``): how SQLite's ``DATETIME`` writes a timestamp as
  text, to check that a column uses the default one before writing it faster.
- ``ValuesBase._values`` and ``ValuesBase._multi_values`` (``sqlalchemy.sql.dml``): the values an ``INSERT``
  was given by ``.values()``, which a statement of many rows built from its table alone would drop.
- ``_CoreAnyExecuteParams`` (``sqlalchemy.engine.interfaces``): the type of a statement's parameters, for
  annotations only.

:mod:`loft.db.prepared` also reads parts of a compiled statement that have no underscore but no documentation
either (``positiontup``, ``bind_names``, ``insert_prefetch``, ``update_prefetch``, ``literal_execute_params``):
``tests/db/test_prepared.py`` checks that what it builds from them gives exactly what SQLAlchemy gives.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine.interfaces import _CoreAnyExecuteParams
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import ValuesBase

#: The parameters of a statement, as :meth:`sqlalchemy.engine.Connection.execute` takes them.
ExecuteParams = _CoreAnyExecuteParams

#: What an adapter of SQLAlchemy's to asyncpg must have for :func:`asyncpg_adapter` to hand it out.
_ADAPTER_PRIVATES = ("_transaction", "_start_transaction", "_handle_exception")
_known_adapters: dict[type, bool] = {}


def asyncpg_adapter(dbapi_connection: Any) -> Any | None:
    """SQLAlchemy's adapter of an asyncpg connection (a pool connection's ``dbapi_connection``), if it is of a
    kind that has what this module uses; None otherwise (the statement then goes through SQLAlchemy)."""
    kind = type(dbapi_connection)
    known = _known_adapters.get(kind)
    if known is None:
        known = _known_adapters[kind] = all(hasattr(dbapi_connection, name) for name in _ADAPTER_PRIVATES)
    return dbapi_connection if known else None


async def driver_in_transaction(adapter: Any) -> Any:
    """The asyncpg connection under ``adapter``, inside the transaction SQLAlchemy keeps on it (begun now, the way
    SQLAlchemy begins it, if no statement has begun it yet)."""
    if adapter._transaction is None:
        await adapter._start_transaction()
    return adapter.driver_connection


def translated(adapter: Any, error: Exception) -> Exception:
    """asyncpg's ``error`` as SQLAlchemy's DBAPI error of the same kind (``IntegrityError`` …); ``error`` itself
    if SQLAlchemy leaves it as it is (the operating system's and asyncio's errors)."""
    try:
        adapter._handle_exception(error)
    except Exception as translation:
        return translation
    return error  # (it always raises)


def invalidate_pool(pool: Pool, connection: PoolProxiedConnection, error: BaseException) -> None:
    """Invalidate ``connection`` after ``error`` said it is dead, and have the pool replace every connection it
    opened before it at their next checkout."""
    pool._invalidate(connection, error)


def result_columns(compiled: SQLCompiler) -> list[Any]:
    """The result columns of a compiled statement (each with ``keyname`` and ``type``); empty if it has none."""
    return list(compiled._result_columns or [])


def storage_format(kind: Any) -> str:
    """How a SQLite ``DATETIME`` type (or its class: the default) writes its values (a ``%``-format over the
    timestamp's parts)."""
    return kind._storage_format  # type: ignore[no-any-return]


def has_values(statement: ValuesBase) -> bool:
    """Whether ``statement`` was given values of its own (``insert(table).values(…)``)."""
    return bool(statement._values or statement._multi_values)
