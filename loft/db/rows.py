"""Many rows in one ``INSERT`` on PostgreSQL too.

:meth:`loft.db.engine.Conn.insert_rows` and :meth:`~loft.db.engine.Conn.execute_many` write many rows in one
statement on SQLite, and one statement per row on PostgreSQL, each a round trip and a statement for the server to
run. Here, on PostgreSQL, the rows go in ``INSERT … VALUES (…), (…), … [RETURNING …]`` statements of 1, 2, 4 …
:data:`MOST` rows (a batch of 37 is four statements: 16 + 16 + 4 + 1), each a :class:`Prepared` statement, so that
a process prepares at most a few shapes per table and asyncpg's statement cache keeps them. Values go in as
they go in one row at a time (the same type processors). SQLite keeps its own path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, insert

from loft.db.engine import Conn
from loft.db.prepared import Prepared

#: Rows in one statement at most. asyncpg keeps a prepared statement only if its SQL is shorter than 15 KiB
#: (``max_cacheable_statement_size``): longer ones are parsed and described by PostgreSQL at every run, which cost
#: more than the round trips saved. 16 rows of ``messages`` are about 6 KiB of SQL.
MOST = 16


@lru_cache(maxsize=None)
def _statement(table: Table, keys: tuple[str, ...], count: int, returning: tuple[str, ...]) -> Prepared:
    statement = insert(table).values([
        {key: bindparam(f"{key}__{index}", type_=table.c[key].type) for key in keys} for index in range(count)
    ])
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    return Prepared(statement)


@lru_cache(maxsize=None)
def _names(keys: tuple[str, ...], count: int) -> tuple[str, ...]:
    """The parameter names of :func:`_statement`'s rows, row after row."""
    return tuple(f"{key}__{index}" for index in range(count) for key in keys)


def _chunks(count: int) -> list[int]:
    """``count`` as a sum of powers of two up to :data:`MOST`, largest first."""
    sizes = []
    while count:
        size = min(MOST, 1 << (count.bit_length() - 1))
        sizes.append(size)
        count -= size
    return sizes


async def insert_rows(conn: Conn, single: Prepared, table: Table, rows: Sequence[Mapping[str, Any]], *,
                      returning: Sequence[str] = ()) -> list[Any]:
    """Insert ``rows`` (all with the same keys) into ``table``; what ``RETURNING returning`` gives for all of
    them (in no particular order; nothing without ``returning``). ``single`` is the statement of one row (with
    the same ``RETURNING``): SQLite runs it as it does (:meth:`Conn.insert_rows`, :meth:`Conn.execute_many`)."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        if returning:
            return await conn.insert_rows(single, rows)
        await conn.execute_many(single, rows)
        return []
    keys = tuple(rows[0])
    returned: list[Any] = []
    start = 0
    for size in _chunks(len(rows)):
        values = [row[key] for row in rows[start:start + size] for key in keys]
        parameters = dict(zip(_names(keys, size), values))
        result = await conn.execute(_statement(table, keys, size, tuple(returning)), parameters)
        if returning:
            returned.extend(result.all())
        start += size
    return returned
