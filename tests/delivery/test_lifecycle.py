"""Status changes of many messages at once (``lifecycle.change_many``, what a batch handed to a carrier runs)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from loft.accounts.service import ensure_main
from loft.config import Settings
from loft.db.engine import Database, open_database
from loft.db.tables import messages
from loft.delivery import lifecycle
from loft.kit import dates
from loft.kit.crypto import SecretBox
from loft.messages import service

ACCOUNT = "AC" + "1" * 32


async def _stored(db: Database, tmp_path: Path, count: int) -> list[Any]:
    async with db.write() as conn:
        await ensure_main(conn, SecretBox.load(key=None, data_dir=tmp_path), sid=ACCOUNT, auth_token="a" * 32)
        return [await service.store(conn, Settings(), account_sid=ACCOUNT, direction="outbound-api",
                                    from_="+15005550006", to=f"+1650253{i:04d}", body=f"m{i}", media_urls=[],
                                    mms=False, status="queued") for i in range(count)]


async def _statuses(db: Database) -> dict[str, tuple[str, int | None, bool]]:
    async with db.read() as conn:
        rows = (await conn.execute(select(messages.c.sid, messages.c.status, messages.c.error_code,
                                          messages.c.date_sent))).all()
    return {row.sid: (row.status, row.error_code, row.date_sent is not None) for row in rows}


Moves = Callable[[list[Any]], list[tuple[Any, str, int | None]]]


def _after_change_many(tmp_path: Path, count: int, moves: Moves, *, sent_meanwhile: int | None = None
                       ) -> tuple[list[Any], dict[str, tuple[str, int | None, bool]], Exception | None]:
    """Store ``count`` queued messages, have another worker send one of them (``sent_meanwhile``), then change
    them all with ``change_many`` in a transaction of its own: the messages, what is stored after, the error."""

    async def main() -> tuple[list[Any], dict[str, tuple[str, int | None, bool]], Exception | None]:
        db = open_database(f"sqlite:///{tmp_path / 'loft.db'}")
        await db.migrate()
        stored = await _stored(db, tmp_path, count)
        if sent_meanwhile is not None:
            async with db.write() as conn:
                await lifecycle.change(conn, stored[sent_meanwhile], "sent")
        moment = dates.now()
        error = None
        try:
            async with db.write() as conn:
                await lifecycle.change_many(conn, moves(stored), moment=moment, date_sent=moment)
        except lifecycle.Superseded as exc:
            error = exc
        found = await _statuses(db)
        await db.dispose()
        return stored, found, error

    return asyncio.run(main())


def test_each_message_makes_its_own_move_from_the_status_it_was_read_in(tmp_path: Path) -> None:
    stored, found, error = _after_change_many(tmp_path, 300, lambda stored: [  # more than one group's worth
        (m, "undelivered" if i % 7 == 0 else "delivered", 30003 if i % 7 == 0 else None)
        for i, m in enumerate(stored)])
    assert error is None
    assert {found[m.sid] for i, m in enumerate(stored) if i % 7 == 0} == {("undelivered", 30003, True)}
    assert {found[m.sid] for i, m in enumerate(stored) if i % 7} == {("delivered", None, True)}


def test_a_message_that_moved_meanwhile_fails_the_whole_change(tmp_path: Path) -> None:
    stored, found, error = _after_change_many(tmp_path, 5, lambda stored: [(m, "delivered", None) for m in stored],
                                              sent_meanwhile=2)
    assert isinstance(error, lifecycle.Superseded)
    # Nothing of the failed change is kept: the others are still queued, the third is as the other worker left it.
    assert [found[m.sid][0] for m in stored] == ["queued", "queued", "sent", "queued", "queued"]
