"""Handsets: their carrier settings (each account's own), their inbox, and the messages they send to Loft
numbers and RCS senders.

A handset set ``Rcs=true`` (by the account whose sends it answers, as its other settings) supports RCS: it may
write to an RCS sender (``To`` ``rcs:<agent>``) and tap the buttons of its messages (``ButtonPayload``, the
action's id, and ``ButtonText``, its title). What it sends reaches the sender's account as an inbound message
from ``rcs:+<phone>`` to the sender, the tap kept with it and given to the webhook (:mod:`loft.webhooks.inbound`).
It also reads the RCS messages it received (:func:`read`): a ``delivered`` message becomes ``read``, which its
status callback announces (``EventType=READ``), as an RCS read receipt does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from loft.accounts.service import Account
from loft.config import Settings
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.db.tables import handset_inbox, handsets, incoming_phone_numbers
from loft.delivery import lifecycle
from loft.delivery.carriers import sim as carrier
from loft.errors import InvalidParameter, NotFound
from loft.kit import dates, forms, phone, urls
from loft.messages import intake, validation
from loft.messages import service as messages
from loft.senders import service as channel_senders

MAX_DELAY_MS = 3_600_000


def handset_number(text: str) -> str:
    number = phone.e164(text)
    if number is None:
        raise InvalidParameter(21211, f"The handset number {text} is not a valid phone number.")
    return number


async def configure(conn: Conn, account: Account, number: str, form: Mapping[str, str]) -> dict[str, Any]:
    """Set how the handset ``number`` answers ``account``'s sends (and its subaccounts'), starting from what
    applies to the account now (its parent's setting, if it has none of its own)."""
    behavior = forms.choice(form, "Behavior", tuple(carrier.BEHAVIORS))
    delay = forms.integer(form, "ReceiptDelayMs", low=0, high=MAX_DELAY_MS)
    rcs = forms.boolean(form, "Rcs")
    current = await settings_of(conn, account, number)
    moment = dates.now()
    await upsert.insert_ignore(conn, handsets, phone_number=number, account_sid=account.sid,
                               behavior=current["behavior"], receipt_delay_ms=current["receipt_delay_ms"],
                               rcs=current["rcs"], date_created=moment, date_updated=moment)
    values: dict[str, Any] = {"date_updated": moment}
    if behavior is not None:
        values["behavior"] = behavior
    if delay is not None:
        values["receipt_delay_ms"] = delay
    if rcs is not None:
        values["rcs"] = rcs
    await conn.execute(update(handsets).values(**values)
                       .where(handsets.c.phone_number == number, handsets.c.account_sid == account.sid))
    return await settings_of(conn, account, number)


async def settings_of(conn: Conn, account: Account, number: str) -> dict[str, Any]:
    """How the handset answers ``account``'s sends: its own setting, else its parent's, else the default. Other
    accounts' settings are neither applied nor shown."""
    found = await _handset(conn, account.sid, number)
    return {"phone_number": number, "behavior": found.behavior, "receipt_delay_ms": found.receipt_delay_ms,
            "rcs": found.rcs}


async def _handset(conn: Conn, account_sid: str, number: str) -> carrier.Handset:
    found = await carrier.settings_for(conn, [(account_sid, number)])
    return found.get((account_sid, number), carrier.DEFAULT)


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
            "channel": row.channel,
            "content": row.content if row.channel == "rcs" else None,
            "date_received": dates.iso8601(row.date_received),
        }
        for row in rows
    ]


async def text_loft(conn: Conn, settings: Settings, number: str, form: forms.Form, *,
                    reachable: list[str]) -> Record:
    """The handset ``number`` texts a Loft number (an inbound message, opt-out keywords applied) or an RCS sender
    (a reply or a button tap, see the module's docstring)."""
    to_raw = (form.get("To") or "").strip()
    if not to_raw:
        raise InvalidParameter(21604, "A 'To' phone number is required.")
    if to_raw.lower().startswith(phone.RCS_PREFIX):
        return await _write_agent(conn, settings, number, to_raw, form, reachable=reachable)
    if form.get("ButtonPayload") is not None or form.get("ButtonText") is not None:
        raise InvalidParameter(21604, f"ButtonPayload and ButtonText are RCS button taps: 'To' must be the RCS "
                                      f"sender (rcs:<agent>) whose message has the button, not {to_raw}")
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
    body, media_urls = _contents(form, form.get("Body") or "")
    return await intake.accept(conn, settings, account_sid=str(owner), from_=number, to=str(to), body=body,
                               media_urls=media_urls)


async def _write_agent(conn: Conn, settings: Settings, number: str, to_raw: str, form: forms.Form, *,
                       reachable: list[str]) -> Record:
    """The handset writes to (or taps a button of) the RCS sender ``to_raw``: an RCS handset only (400 otherwise),
    to an online sender of a reachable account (404 otherwise)."""
    sender_id = phone.RCS_PREFIX + to_raw[len(phone.RCS_PREFIX):]
    agent = await channel_senders.by_sender_id(conn, sender_id)
    if agent is None or agent.account_sid not in reachable:
        raise NotFound(f"/sim/v1/Handsets/{number}/Messages: {to_raw} is not an RCS sender of your account")
    if agent.status != channel_senders.ONLINE:
        raise InvalidParameter(20001, f"The RCS sender {sender_id} is {agent.status}, not ONLINE yet: handsets "
                                      f"cannot reach it")
    if not (await _handset(conn, agent.account_sid, number)).rcs:
        raise InvalidParameter(63106, f"The handset {number} does not support RCS: set it Rcs=true "
                                      f"(POST /sim/v1/Handsets/{number}) before it writes to or taps {sender_id}")
    payload, text = form.get("ButtonPayload"), form.get("ButtonText")
    if (text is not None and payload is None) or payload == "":
        raise InvalidParameter(20001, "A button tap needs its 'ButtonPayload' (the action's id) with 'ButtonText'")
    options: dict[str, Any] = {}
    if payload is not None:
        options = {"button_payload": payload, "button_text": text or ""}
    body, media_urls = _contents(form, form.get("Body") or text or "", tap=payload is not None)
    return await intake.accept(conn, settings, account_sid=agent.account_sid, from_=phone.RCS_PREFIX + number,
                               to=sender_id, body=body, media_urls=media_urls, options=options or None)


def _contents(form: forms.Form, body: str, *, tap: bool = False) -> tuple[str, list[str]]:
    """The message's body and media URLs, checked: one of them at least (a tap may have neither)."""
    media_urls = [url.strip() for url in form.getlist("MediaUrl") if url.strip()]
    if not body and not media_urls and not tap:
        raise InvalidParameter(21602, "Message body is required.")
    if len(media_urls) > validation.MAX_MEDIA:
        raise InvalidParameter(21623, f"Too many media urls: {len(media_urls)}, the limit is {validation.MAX_MEDIA}.")
    for url in media_urls:
        urls.optional(url, "MediaUrl", code=21620)
    return body, media_urls


async def read(conn: Conn, number: str, message_sid: str, *, reachable: list[str]) -> Record:
    """The handset ``number`` reads the RCS message ``message_sid`` it received from a reachable account: from
    ``delivered`` to ``read`` (again: nothing changes). Not one of its messages: 404; not RCS (SMS and MMS send no
    read receipts) or not delivered: 400 (20001)."""
    received = (await conn.execute(select(handset_inbox.c.channel).where(
        handset_inbox.c.phone_number == number, handset_inbox.c.message_sid == message_sid,
        handset_inbox.c.account_sid.in_(reachable)))).first()
    message = await messages.load(conn, message_sid) if received is not None else None
    if received is None or message is None:
        raise NotFound(f"/sim/v1/Handsets/{number}/Messages/{message_sid}: the handset received no such message "
                       "from your account")
    if received.channel != "rcs":
        raise InvalidParameter(20001, f"Message {message_sid} came by {received.channel.upper()}: only RCS messages "
                                      "are read with a receipt")
    if message.status != "read":
        if message.status != "delivered":
            raise InvalidParameter(20001, f"Message {message_sid} is {message.status}: a handset reads a delivered "
                                          "message")
        await lifecycle.change(conn, message, "read", expected="delivered")
    found = await messages.load(conn, message_sid)
    assert found is not None
    return found
