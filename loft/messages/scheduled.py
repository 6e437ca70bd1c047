"""How many messages an account has ``scheduled``: at most ``LOFT_MAX_SCHEDULED_PER_ACCOUNT`` (Twilio's
500,000), and one more is refused with 35125.

The count is a row per account (``scheduled_counts``, migration 0018, which says why it is not counted from
``messages``): taken as a message is created ``scheduled`` (:func:`reserve`, in the create's transaction) and
given back as it leaves that status, however it leaves — sent, failed or canceled (:func:`release`, from
:func:`loft.delivery.lifecycle.change`). On PostgreSQL, scheduled creates for one account take turns on its row
until they commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from loft.db.engine import Conn
from loft.db.tables import scheduled_counts
from loft.errors import InvalidParameter

#: Twilio's code for a scheduled message over the account's limit.
TOO_MANY = 35125
_RELEASE = update(scheduled_counts).where(scheduled_counts.c.account_sid == bindparam("account"),
                                          scheduled_counts.c.scheduled > 0).values(
    scheduled=scheduled_counts.c.scheduled - 1)


async def reserve(conn: Conn, account_sid: str, limit: int) -> None:
    """Count one more scheduled message of ``account_sid``, or refuse it (35125, writing nothing) when the account
    has ``limit`` already."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    counted = dialect.insert(scheduled_counts).values(account_sid=account_sid, scheduled=1).on_conflict_do_update(
        index_elements=[scheduled_counts.c.account_sid], set_={"scheduled": scheduled_counts.c.scheduled + 1},
        where=scheduled_counts.c.scheduled < limit)
    if (await conn.execute(counted)).rowcount != 1:
        raise InvalidParameter(TOO_MANY, f"Account {account_sid} has {limit} scheduled messages, the most it may "
                                         "have: cancel some, or wait for them to be sent")


async def release(conn: Conn, account_sid: str) -> None:
    """One scheduled message of ``account_sid`` has left that status."""
    await conn.execute(_RELEASE, {"account": account_sid})
