"""An account's own resources in a table with ``sid``, ``account_sid`` and ``date_created`` columns (templates,
channel senders …): one by its SID, and a page of them oldest first. Another account's row is never found, as an
unknown one (the endpoint answers 404 either way)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Table, select

from loft.db import pages
from loft.db.engine import Conn
from loft.kit import sids
from loft.kit.paging import PageRequest


async def find(conn: Conn, table: Table, prefix: str, sid: str, account_sid: str) -> Row[Any] | None:
    """The row ``sid`` (a SID with ``prefix``) if it is ``account_sid``'s."""
    if not sids.is_sid(sid, prefix):
        return None
    return (await conn.execute(select(table).where(table.c.sid == sid, table.c.account_sid == account_sid))).first()


async def page(conn: Conn, table: Table, account_sid: str, request: PageRequest) -> tuple[list[Row[Any]], bool]:
    """A page of ``account_sid``'s rows, in the order they were made; whether another follows."""
    return await pages.fetch(conn, table, where=[table.c.account_sid == account_sid], order=("date_created", "sid"),
                             descending=False, request=request)
