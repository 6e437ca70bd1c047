"""Twilio's default opt-out handling for long codes and toll-free numbers.

A message that is exactly one keyword (any case, surrounding blanks ignored) changes the recipient's
subscription to that sender and is answered with Twilio's default auto-reply:

- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT: opted out; later sends from that sender fail with 21610.
- START, YES, UNSTOP: opted back in.
- HELP, INFO: help text.

The inbound webhook still fires, with ``OptOutType`` set to STOP, START or HELP.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Literal

from sqlalchemy import delete, select

from loft.db import upsert
from loft.db.engine import Conn
from loft.db.prepared import Prepared, list_length, listed, values_of
from loft.db.tables import opt_outs
from loft.kit import dates

Keyword = Literal["STOP", "START", "HELP"]

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


@lru_cache(maxsize=None)
def _opted_out_among(senders: int, recipients: int) -> Prepared:
    return Prepared(select(opt_outs.c.sender, opt_outs.c.recipient).where(
        opt_outs.c.sender.in_(listed("sender", senders)), opt_outs.c.recipient.in_(listed("recipient", recipients))))


async def opted_out(conn: Conn, pairs: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (sender, recipient) ``pairs`` are opted out, in one query."""
    if not pairs:
        return set()
    senders = sorted({sender for sender, _ in pairs})
    recipients = sorted({recipient for _, recipient in pairs})
    statement = _opted_out_among(list_length(len(senders)), list_length(len(recipients)))
    found = await conn.execute(statement, {**values_of("sender", senders), **values_of("recipient", recipients)})
    return {(row.sender, row.recipient) for row in found.all()} & set(pairs)


async def apply(conn: Conn, word: Keyword, *, sender: str, recipient: str, account_sid: str) -> None:
    if word == "STOP":
        await upsert.insert_ignore(conn, opt_outs, sender=sender, recipient=recipient, account_sid=account_sid,
                                   date_created=dates.now())
    elif word == "START":
        await conn.execute(delete(opt_outs).where(opt_outs.c.sender == sender, opt_outs.c.recipient == recipient))
