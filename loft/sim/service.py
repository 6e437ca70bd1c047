"""Handsets: their carrier settings (each account's own), their inbox, and the messages they send to Loft
numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from starlette.datastructures import MultiDict

from loft.accounts.service import Account
from loft.config import Settings
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.db.tables import handset_inbox, handsets, incoming_phone_numbers
from loft.delivery.carriers import sim as carrier
from loft.errors import InvalidParameter, NotFound
from loft.kit import dates, forms, phone, urls
from loft.messages import intake, validation

MAX_DELAY_MS = 3_600_000


def handset_number(text: str) -> str:
    number = phone.e164(text)
    if number is None:
        raise InvalidParameter(21211, f"The handset number {text} is not a valid phone number.")
    return number


async def configure(conn: Conn, account: Account, number: str, form: MultiDict) -> dict[str, Any]:
    """Set how the handset ``number`` answers ``account``'s sends (and its subaccounts'), starting from what
    applies to the account now (its parent's setting, if it has none of its own)."""
    behavior = forms.choice(form, "Behavior", tuple(carrier.BEHAVIORS))
    delay = forms.integer(form, "ReceiptDelayMs", low=0, high=MAX_DELAY_MS)
    current = await settings_of(conn, account, number)
    moment = dates.now()
    await upsert.insert_ignore(conn, handsets, phone_number=number, account_sid=account.sid,
                               behavior=current["behavior"], receipt_delay_ms=current["receipt_delay_ms"],
                               date_created=moment, date_updated=moment)
    values: dict[str, Any] = {"date_updated": moment}
    if behavior is not None:
        values["behavior"] = behavior
    if delay is not None:
        values["receipt_delay_ms"] = delay
    await conn.execute(update(handsets).values(**values)
                       .where(handsets.c.phone_number == number, handsets.c.account_sid == account.sid))
    return await settings_of(conn, account, number)


async def settings_of(conn: Conn, account: Account, number: str) -> dict[str, Any]:
    """How the handset answers ``account``'s sends: its own setting, else its parent's, else the default. Other
    accounts' settings are neither applied nor shown."""
    found = await carrier.settings_for(conn, [(account.sid, number)])
    behavior, delay_ms = found.get((account.sid, number), carrier.DEFAULT)
    return {"phone_number": number, "behavior": behavior, "receipt_delay_ms": delay_ms}


async def inbox(conn: Conn, number: str, account_sids: list[str]) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            select(handset_inbox)
            .where(handset_inbox.c.phone_number == number, handset_inbox.c.account_sid.in_(account_sids))
            .order_by(handset_inbox.c.id.desc())
        )
    ).all()
    return [
        {
            "sid": row.message_sid,
            "from": row.from_addr,
            "to": row.phone_number,
            "body": row.body,
            "media_urls": list(row.media_urls),
            "date_received": dates.iso8601(row.date_received),
        }
        for row in rows
    ]


async def text_loft(conn: Conn, settings: Settings, number: str, form: MultiDict, *,
                    reachable: list[str]) -> Record:
    """The handset ``number`` texts a Loft number: an inbound message, opt-out keywords applied."""
    to_raw = (form.get("To") or "").strip()
    if not to_raw:
        raise InvalidParameter(21604, "A 'To' phone number is required.")
    to = phone.e164(to_raw)
    owner = None
    if to is not None:
        owner = (
            await conn.execute(
                select(incoming_phone_numbers.c.account_sid).where(incoming_phone_numbers.c.phone_number == to)
            )
        ).scalar()
    if owner is None or owner not in reachable:
        raise NotFound(f"/sim/v1/Handsets/{number}/Messages: {to_raw} is not a number of your account")
    body = form.get("Body") or ""
    media_urls = [url.strip() for url in form.getlist("MediaUrl") if url.strip()]
    if not body and not media_urls:
        raise InvalidParameter(21602, "Message body is required.")
    if len(media_urls) > validation.MAX_MEDIA:
        raise InvalidParameter(21623, f"Too many media urls: {len(media_urls)}, the limit is {validation.MAX_MEDIA}.")
    for url in media_urls:
        urls.optional(url, "MediaUrl", code=21620)
    return await intake.accept(conn, settings, account_sid=str(owner), from_=number, to=str(to), body=body,
                               media_urls=media_urls)
