"""The console's own reads on both backends (the browser tests run on SQLite): the scheduled messages, soonest due
first, each with the time its send job is due; and which pool each of an account's senders is in (a subaccount's
services are the browser tests')."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from loft.accounts.service import ensure_main
from loft.config import Settings
from loft.console import queries
from loft.db.engine import Database
from loft.db.tables import messaging_service_senders, messaging_services
from loft.kit import dates
from loft.kit.crypto import SecretBox
from loft.messages import service
from loft.messaging_services import service as services
from tests.db.conftest import database  # noqa: F401 (the two-backend fixture)

ACCOUNT = "AC" + "2" * 32
OTHER = "AC" + "3" * 32


def test_scheduled_messages_come_soonest_first_with_their_send_time(database: Database,  # noqa: F811
                                                                    tmp_path: Path) -> None:
    async def main() -> tuple[list[tuple[str, timedelta | None]], list[str]]:
        await database.migrate()
        try:
            moment = dates.now()
            async with database.write() as conn:
                await ensure_main(conn, SecretBox.load(key=None, data_dir=tmp_path), sid=ACCOUNT, auth_token="a" * 32)
                stored = {}
                for name, status, hours in (("later", "scheduled", 5), ("sooner", "scheduled", 1),
                                            ("queued", "queued", None)):
                    row, _ = await service.store(
                        conn, Settings(), account_sid=ACCOUNT, direction="outbound-api", from_="", to="+15550100001",
                        body=name, media_urls=[], mms=False, status=status,
                        send_at=moment + timedelta(hours=hours) if hours else None)
                    stored[row.sid] = name
            async with database.read() as conn:
                found, more = await queries.scheduled(conn, ACCOUNT, 0)
                later_page, _ = await queries.scheduled(conn, ACCOUNT, 1)
            assert not more and later_page == []
            return ([(stored[each.message.sid], each.send_at - moment if each.send_at else None) for each in found],
                    [each.message.body for each in found])
        finally:
            await database.dispose()

    due, bodies = asyncio.run(main())
    assert due == [("sooner", timedelta(hours=1)), ("later", timedelta(hours=5))]
    assert bodies == ["sooner", "later"]


def test_pools_of_names_the_service_of_each_pooled_sender(database: Database, tmp_path: Path) -> None:  # noqa: F811
    async def main() -> tuple[dict[str, str], dict[str, str]]:
        await database.migrate()
        try:
            moment = dates.now()
            async with database.write() as conn:
                await ensure_main(conn, SecretBox.load(key=None, data_dir=tmp_path), sid=ACCOUNT, auth_token="a" * 32)
                await conn.execute(messaging_services.insert().values(
                    sid="MG" + "1" * 32, account_sid=ACCOUNT, friendly_name="pool", date_created=moment,
                    date_updated=moment, **services.DEFAULTS))
                await conn.execute(messaging_service_senders.insert().values(
                    sid="AI" + "1" * 32, service_sid="MG" + "1" * 32, account_sid=ACCOUNT, kind="alpha_sender",
                    address="Loft", capabilities=["SMS"], date_created=moment, date_updated=moment))
            async with database.read() as conn:
                return await queries.pools_of(conn, ACCOUNT), await queries.pools_of(conn, OTHER)
        finally:
            await database.dispose()

    assert asyncio.run(main()) == ({"AI" + "1" * 32: "MG" + "1" * 32}, {})
