"""Twilio's default opt-out handling for long codes and toll-free numbers.

A message that is exactly one keyword (any case, surrounding blanks ignored) changes the recipient's
subscription to that sender and is answered with Twilio's default auto-reply:

- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT: opted out; later sends from that sender fail with 21610.
- START, YES, UNSTOP: opted back in.
- HELP, INFO: help text.

The inbound webhook still fires, with ``OptOutType`` set to STOP, START or HELP.

Scope, Twilio's: an opt-out is of one sender (a number, an RCS sender ``rcs:<agent>``), except for a sender in a
Messaging Service's pool, whose opt-outs are the whole service's: recorded with the service's SID as their sender,
they refuse every send through the service, whichever sender it chooses, and every send from a sender of its pool;
a START to any of them opts back in. A sender that leaves the pool leaves its service's opt-outs behind. The
recipient is the phone, whatever the channel (``rcs:+E164`` is ``+E164``): opt-outs are one for SMS, MMS and RCS.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Literal

from sqlalchemy import delete, select, union_all

from loft.db import upsert
from loft.db.engine import Conn
from loft.db.prepared import Prepared, among, list_length, values_of
from loft.db.tables import channel_senders, incoming_phone_numbers, messaging_service_senders, opt_outs
from loft.kit import dates, phone

Keyword = Literal["STOP", "START", "HELP"]
#: A send as opt-outs see it: its sender, its recipient, and the Messaging Service it goes through (None: none).
Send = tuple[str, str, str | None]

_KEYWORDS: dict[str, Keyword] = {
    **{word: "STOP" for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")},
    **{word: "START" for word in ("START", "YES", "UNSTOP")},
    **{word: "HELP" for word in ("HELP", "INFO")},
}

AUTO_REPLIES: dict[Keyword, str] = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages from this number. "
            "Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
             "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}


def keyword(body: str) -> Keyword | None:
    return _KEYWORDS.get(body.strip().upper())


def phone_of(recipient: str) -> str:
    """The phone a message to ``recipient`` reaches, whatever the channel: ``rcs:+E164`` is ``+E164``."""
    return recipient.removeprefix(phone.RCS_PREFIX)


@lru_cache(maxsize=None)
def _opted_out_among(senders: int, recipients: int) -> Prepared:
    """The opt-outs of ``sender…`` (addresses and services' SIDs) by ``recipient…``, and those of the services
    whose pools hold the numbers and channel senders among ``sender…`` (as theirs): each found by a key or a
    unique index (a number's, a channel sender's, then its pool row's, then the opt-out's key)."""
    pool = messaging_service_senders
    own = select(opt_outs.c.sender, opt_outs.c.recipient).where(among(opt_outs.c.sender, "sender", senders),
                                                                among(opt_outs.c.recipient, "recipient", recipients))
    pooled = [
        select(address.label("sender"), opt_outs.c.recipient)
        .select_from(table.join(pool, pool.c.sid == table.c.sid)
                     .join(opt_outs, opt_outs.c.sender == pool.c.service_sid))
        .where(among(address, "sender", senders), among(opt_outs.c.recipient, "recipient", recipients))
        for table, address in ((incoming_phone_numbers, incoming_phone_numbers.c.phone_number),
                               (channel_senders, channel_senders.c.sender_id))
    ]
    return Prepared(union_all(own, *pooled))


async def opted_out(conn: Conn, sends: Collection[Send]) -> set[Send]:
    """Which of the ``sends`` (sender, recipient, service) are refused, in one query: the recipient's phone opted
    out of the sender, of the service whose pool holds the sender, or of the service the send goes through."""
    if not sends:
        return set()
    senders = sorted({sender for sender, _, _ in sends} | {service for _, _, service in sends if service})
    recipients = sorted({phone_of(recipient) for _, recipient, _ in sends})
    statement = _opted_out_among(list_length(len(senders)), list_length(len(recipients)))
    found = await conn.execute(statement, {**values_of("sender", senders), **values_of("recipient", recipients)})
    out = {(row.sender, row.recipient) for row in found.all()}
    return {send for send in sends
            if (send[0], phone_of(send[1])) in out or (send[2] is not None and (send[2], phone_of(send[1])) in out)}


async def apply(conn: Conn, word: Keyword, *, sender: str, recipient: str, account_sid: str,
                service_sid: str | None = None) -> None:
    """Apply ``word`` from ``recipient`` (its phone: ``rcs:+E164`` is ``+E164``) to ``sender``: to the whole
    service ``service_sid`` when its pool holds the sender. A START opts back in to both (an opt-out of the
    sender alone, from before it joined the pool, goes too)."""
    recipient = phone_of(recipient)
    if word == "STOP":
        await upsert.insert_ignore(conn, opt_outs, sender=service_sid or sender, recipient=recipient,
                                   account_sid=account_sid, date_created=dates.now())
    elif word == "START":
        senders = [sender] if service_sid is None else [sender, service_sid]
        await conn.execute(delete(opt_outs).where(opt_outs.c.sender.in_(senders), opt_outs.c.recipient == recipient))


async def stopped(conn: Conn, *, sender: str, recipient: str, account_sid: str) -> None:
    """A carrier says ``recipient`` unsubscribed from ``sender`` (an upstream's 21610): a STOP, with the scope a
    STOP texted to ``sender`` has (the whole service whose pool holds it, if any)."""
    from loft.messaging_services import pool  # (its services delete their opt-outs: a module-level cycle)

    service_sid = await pool.service_of_number(conn, account_sid, sender) if sender.startswith("+") else None
    await apply(conn, "STOP", sender=sender, recipient=recipient, account_sid=account_sid, service_sid=service_sid)


async def forget(conn: Conn, service_sid: str) -> None:
    """The opt-outs of a deleted Messaging Service go with it."""
    await conn.execute(delete(opt_outs).where(opt_outs.c.sender == service_sid))
