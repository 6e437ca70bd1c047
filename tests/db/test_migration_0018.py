"""Revision 0018 on a database that has scheduled messages: each account's count starts from the messages it has
``scheduled`` (other statuses not counted), so an installation upgraded past the limit refuses one more."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from sqlalchemy import insert, select

from loft.db import tables
from tests.support.migrations import migrate
from tests.support.rows import account, message

OTHER = "AC" + "1" * 32


def test_each_account_s_count_starts_from_its_scheduled_messages(tmp_path: Path) -> None:
    database = tmp_path / "loft.db"
    other = account(OTHER) | {"is_main": False, "friendly_name": "other"}
    rows = [message(1, status="scheduled"), message(2, status="scheduled"), message(3, status="delivered"),
            message(4, OTHER, status="scheduled"), message(5, OTHER, status="canceled")]
    migrate(database, "0017_messages_lock_no_account")
    sync = sqlalchemy.create_engine(f"sqlite:///{database}")
    try:
        with sync.begin() as connection:  # what an installation at 0017 holds
            connection.execute(insert(tables.accounts), [account(), other])
            connection.execute(insert(tables.messages), rows)
        migrate(database, "head")
        with sync.connect() as connection:
            counts = dict(connection.execute(select(tables.scheduled_counts.c.account_sid,
                                                    tables.scheduled_counts.c.scheduled)).all())
    finally:
        sync.dispose()
    assert counts == {account()["sid"]: 2, OTHER: 1}
