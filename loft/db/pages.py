"""Keyset pages over a table, in the order its list endpoint shows (see ``loft.kit.paging``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, select, tuple_

from loft.db.engine import Conn
from loft.errors import InvalidParameter
from loft.kit import dates
from loft.kit.paging import PageRequest


async def fetch(
    conn: Conn,
    table: Table,
    *,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[str],
    descending: bool,
    request: PageRequest,
) -> tuple[list[Row[Any]], bool]:
    """The rows of one page and whether another page follows. ``order`` must identify a row uniquely."""
    columns = [table.c[name] for name in order]
    key: Any = columns[0] if len(columns) == 1 else tuple_(*columns)
    statement = select(table).where(*where)
    forward = True
    if request.anchor is not None:
        direction, sid = request.anchor
        forward = direction == "after"
        anchor = (await conn.execute(select(*columns).where(table.c.sid == sid))).first()
        if anchor is None:
            return [], False
        value: Any = anchor[0] if len(columns) == 1 else tuple_(*anchor)
        statement = statement.where(key < value if descending == forward else key > value)
    else:
        statement = statement.offset(request.offset)
    newest_first = descending == forward
    statement = statement.order_by(*(c.desc() if newest_first else c.asc() for c in columns))
    rows = list((await conn.execute(statement.limit(request.size + 1))).all())
    more = len(rows) > request.size
    rows = rows[: request.size]
    if not forward:
        rows.reverse()
        return rows, True
    return rows, more


def date_filters(column: ColumnElement[Any], query: Mapping[str, str], name: str) -> list[ColumnElement[bool]]:
    """Conditions for Twilio's date filters ``Name``, ``Name<`` and ``Name>`` on ``column``.

    ``Name`` matches the whole UTC day of its value (twilio-python writes a ``date`` as midnight UTC);
    ``Name<`` is on or before (the whole day for a bare date, the instant otherwise); ``Name>`` on or after.
    """
    conditions: list[ColumnElement[bool]] = []
    for parameter in (name, f"{name}<", f"{name}>"):
        value = query.get(parameter)
        if value is None:
            continue
        try:
            when = dates.parse_filter(value)
        except dates.OutOfRange:
            raise InvalidParameter(20001, f"{parameter} must be a day from {dates.FIRST_DAY} to {dates.LAST_DAY}, "
                                          f"not '{value}'") from None
        if when is None:
            raise InvalidParameter(20001, f"{parameter} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, not '{value}'")
        if parameter == name:
            day = when.start.replace(hour=0, minute=0, second=0)
            conditions += [column >= day, column < day + timedelta(days=1)]
        elif parameter.endswith("<"):
            conditions.append(column < when.end)
        else:
            conditions.append(column >= when.start)
    return conditions
