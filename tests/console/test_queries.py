"""The console's own reads on both backends (the browser tests run on SQLite): the scheduled messages, soonest due
first, each with the time its send job is due; which pool each of an account's senders is in (a subaccount's
services are the browser tests'); and the virtual phone's thread with an RCS sender, and the senders it offers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from loft.accounts import service as accounts
from loft.accounts.service import ensure_main
from loft.config import Settings
from loft.console import queries
from loft.db.engine import Conn, Database
from loft.db.tables import messages, messaging_service_senders, messaging_services
from loft.delivery.carriers import sim as carrier
from loft.kit import dates
from loft.kit.crypto import SecretBox
from loft.messages import service
from loft.messaging_services import service as services
from loft.senders import service as senders
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
                    row = await service.store(
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


def test_a_thread_with_an_rcs_sender_holds_its_rich_messages_and_the_handset_s_taps(
        database: Database, tmp_path: Path) -> None:  # noqa: F811
    """The virtual phone's thread with an RCS sender: what the sender sent the handset (addressed ``+E164`` or
    ``rcs:+E164``, put in the inbox by the simulator carrier) with its content as the phone draws it, and what the
    handset wrote or tapped (``rcs:+E164`` to the sender); the account's online senders only are offered, and the
    handset is one recent handset whether it wrote as ``rcs:+E164`` or ``+E164``."""
    handset, settings = "+15550100007", Settings()

    async def store(conn: Conn, **message: Any) -> str:
        stored = await service.store(conn, settings, account_sid=ACCOUNT, media_urls=[], mms=False, **message)
        return str(stored.sid)

    async def main() -> tuple[list[str], list[queries.Bubble], list[queries.Bubble], list[str]]:
        await database.migrate()
        try:
            box = SecretBox.load(key=None, data_dir=tmp_path)
            async with database.write() as conn:
                await ensure_main(conn, box, sid=ACCOUNT, auth_token="a" * 32)
                account = await accounts.get(conn, box, ACCOUNT)
                assert account is not None
                online = await senders.create(conn, account, "rcs:acme_online", {})
                await senders.bring_online(conn, online.sid)
                await senders.create(conn, account, "rcs:acme_launching", {})
                card = await store(conn, direction="outbound-api", from_=online.sender_id, to=handset, body="Card",
                                   status="queued", options={carrier.CONTENT_OPTION: {
                                       "type": "twilio/card", "title": "Hello", "media": ["javascript:x", "https://a/b.png"],
                                       "actions": [{"type": "QUICK_REPLY", "title": "Hi", "id": "hi"}, {"type": "URL"}]}})
                reply = await store(conn, direction="outbound-reply", from_=online.sender_id, to="rcs:" + handset,
                                    body="Plain reply", status="queued")
                rows = (await conn.execute(select(messages).where(messages.c.sid.in_((card, reply)))
                                         .order_by(messages.c.seq))).all()
                await carrier.SimCarrier().hand_over_in(conn, [(row, []) for row in rows])
                await store(conn, direction="inbound", from_="rcs:" + handset, to=online.sender_id, body="Hi",
                            status="received", options={"button_payload": "hi", "button_text": "Hi"})
                await store(conn, direction="inbound", from_=handset, to="+14155550100", body="to a number",
                            status="received")
            async with database.read() as conn:
                return (await queries.rcs_senders(conn, ACCOUNT),
                        await queries.thread(conn, ACCOUNT, handset, online.sender_id),
                        await queries.thread(conn, ACCOUNT, handset, "+14155550100"),
                        await queries.handsets(conn, ACCOUNT))
        finally:
            await database.dispose()

    offered, with_agent, with_number, known = asyncio.run(main())
    assert offered == ["rcs:acme_online"]
    assert [(b.mine, b.body, b.channel, b.tap) for b in with_agent] == [
        (False, "Card", "rcs", None), (False, "Plain reply", "rcs", None), (True, "Hi", "rcs", "hi")]
    assert with_agent[0].content == {
        "type": "twilio/card", "title": "Hello", "subtitle": "", "body": "", "media": ["https://a/b.png"],
        "actions": [{"type": "QUICK_REPLY", "title": "Hi", "id": "hi", "url": "", "phone": "", "code": ""}],
        "button": "", "cards": [], "items": []}
    assert with_agent[1].content is None and with_agent[2].content is None
    assert with_agent[0].json()["content"] == with_agent[0].content
    assert [(b.mine, b.body, b.channel) for b in with_number] == [(True, "to a number", "sms")]
    assert known == [handset]  # its taps (from rcs:+…) and texts are one handset
