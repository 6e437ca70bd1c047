"""Reads only the console needs (the API has no such list): the filtered message log, the scheduled messages
with the time each will leave, a handset's thread with one Loft number or RCS sender, the handsets an account has
talked to, its online RCS senders, the accounts the account switcher offers, and which pool each of an account's
senders is in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, or_, select

from loft.console import rich
from loft.db import pages
from loft.db.engine import Conn
from loft.db.tables import (
    accounts,
    channel_senders,
    handset_inbox,
    message_media,
    messages,
    messaging_service_senders,
    outbox,
)
from loft.delivery import outbox as jobs
from loft.kit import dates, paging, phone
from loft.senders import service as senders

PAGE_SIZE = 50
STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "receiving", "received",
            "accepted", "scheduled", "canceled", "read")
DIRECTIONS = ("inbound", "outbound-api", "outbound-reply", "outbound-call")


@dataclass(frozen=True, slots=True)
class LogFilter:
    number: str = ""
    status: str = ""
    direction: str = ""
    date_from: str = ""
    date_to: str = ""

    @classmethod
    def of(cls, query: Any) -> LogFilter:
        # NUL never occurs in a stored value, and PostgreSQL refuses it in a parameter.
        return cls(**{name: (query.get(name) or "").replace("\x00", "").strip() for name in
                      ("number", "status", "direction", "date_from", "date_to")})

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.number:
            number = phone.e164(self.number) or self.number
            where.append(or_(messages.c.from_addr == number, messages.c.to_addr == number))
        if self.status:
            where.append(messages.c.status == self.status)
        if self.direction:
            where.append(messages.c.direction == self.direction)
        dated = {name: value for name, value in (("DateSent>", self.date_from), ("DateSent<", self.date_to)) if value}
        where += pages.date_filters(func.coalesce(messages.c.date_sent, messages.c.date_created), dated, "DateSent")
        return where


async def message_log(conn: Conn, account_sid: str, wanted: LogFilter,
                      page: int) -> tuple[list[Row[Any]], bool]:
    """Newest first, PAGE_SIZE at a time; date bounds are whole days, like the API's ``DateSent<``/``>``."""
    return await pages.fetch(conn, messages, where=[messages.c.account_sid == account_sid, *wanted.conditions()],
                             order=("seq",), descending=True,
                             request=paging.PageRequest(PAGE_SIZE, max(page, 0), None))


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A scheduled message, and when it is due to leave (its send job's time; None: it has no job)."""

    message: Row[Any]
    send_at: datetime | None


async def scheduled(conn: Conn, account_sid: str, page: int) -> tuple[list[Scheduled], bool]:
    """The account's messages whose status is ``scheduled``, the soonest due first, PAGE_SIZE at a time."""
    due = (select(outbox.c.subject_sid, func.min(outbox.c.available_at).label("send_at"))
           .where(outbox.c.account_sid == account_sid, outbox.c.kind == jobs.SEND)
           .group_by(outbox.c.subject_sid).subquery())
    rows = (await conn.execute(
        select(messages, due.c.send_at).outerjoin(due, due.c.subject_sid == messages.c.sid)
        .where(messages.c.account_sid == account_sid, messages.c.status == "scheduled")
        .order_by(due.c.send_at.is_(None), due.c.send_at, messages.c.seq)
        .limit(PAGE_SIZE + 1).offset(max(page, 0) * PAGE_SIZE)
    )).all()
    found = [Scheduled(row, dates.as_utc(row.send_at) if row.send_at is not None else None)
             for row in rows[:PAGE_SIZE]]
    return found, len(rows) > PAGE_SIZE


async def pools_of(conn: Conn, account_sid: str) -> dict[str, str]:
    """The account's senders that are in a Messaging Service's pool (a number's ``PN…`` …) → that service's SID."""
    rows = (await conn.execute(
        select(messaging_service_senders.c.sid, messaging_service_senders.c.service_sid)
        .where(messaging_service_senders.c.account_sid == account_sid)
    )).all()
    return {row.sid: row.service_sid for row in rows}


@dataclass(frozen=True, slots=True)
class Bubble:
    """One message of a virtual phone's thread, seen from the handset: ``channel`` ``sms``, ``mms`` or ``rcs``;
    ``content`` the rich content an RCS message shows (its card, carousel …, see
    :mod:`loft.delivery.carriers.sim`), as the phone draws it (:func:`loft.console.rich.view`), None for the others
    and for an RCS message of plain text; ``tap`` the ``ButtonPayload`` of a button the handset
    tapped; ``unread`` an RCS message it received that is ``delivered``, not yet ``read``."""

    sid: str
    mine: bool
    body: str
    media: list[str]
    status: str
    at: datetime
    channel: str = "sms"
    content: dict[str, Any] | None = None
    tap: str | None = None
    unread: bool = False

    def json(self) -> dict[str, Any]:
        return {"sid": self.sid, "mine": self.mine, "body": self.body, "media": self.media, "status": self.status,
                "at": dates.iso8601(self.at), "channel": self.channel, "content": self.content, "tap": self.tap,
                "unread": self.unread}


async def thread(conn: Conn, account_sid: str, handset: str, peer: str) -> list[Bubble]:
    """What ``handset`` sent to ``peer`` (a Loft number, or an RCS sender ``rcs:<agent>``) and what it received
    from it, oldest first. To an RCS sender the handset writes as ``rcs:+<phone>``."""
    sent = (await conn.execute(
        select(messages).where(messages.c.account_sid == account_sid, messages.c.direction == "inbound",
                               messages.c.from_addr.in_((handset, phone.RCS_PREFIX + handset)),
                               messages.c.to_addr == peer)
        .order_by(messages.c.seq.desc()).limit(200)
    )).all()
    received = (await conn.execute(
        select(handset_inbox).where(handset_inbox.c.account_sid == account_sid,
                                    handset_inbox.c.phone_number == handset, handset_inbox.c.from_addr == peer)
        .order_by(handset_inbox.c.id.desc()).limit(200)
    )).all()
    # Oldest first, so that messages of the same moment keep their order through the (stable) sort below.
    sent, received = sent[::-1], received[::-1]
    media = await _media_of(conn, [row.sid for row in sent if row.num_media])
    unread = await _delivered(conn, [row.message_sid for row in received if row.channel == "rcs"])
    # The handset's own texts: "delivered" once Loft has them, as a phone would say.
    bubbles = [Bubble(row.sid, True, row.body, media.get(row.sid, []),
                      {"received": "delivered", "receiving": "sending"}.get(row.status, row.status),
                      dates.as_utc(row.date_created), _channel(row.from_addr, row.num_media),
                      tap=(row.options or {}).get("button_payload")) for row in sent]
    bubbles += [Bubble(row.message_sid, False, row.body, list(row.media_urls), "received",
                       dates.as_utc(row.date_received), row.channel,
                       rich.view(row.content) if row.channel == "rcs" else None, unread=row.message_sid in unread)
                for row in received]
    bubbles.sort(key=lambda bubble: (bubble.at, not bubble.mine))
    return bubbles


async def _delivered(conn: Conn, message_sids: list[str]) -> set[str]:
    """Which of the messages are ``delivered`` (an RCS message the handset may read)."""
    if not message_sids:
        return set()
    return set((await conn.execute(select(messages.c.sid).where(messages.c.sid.in_(message_sids),
                                                                messages.c.status == "delivered"))).scalars())


def _channel(from_addr: str, num_media: int) -> str:
    if from_addr.startswith(phone.RCS_PREFIX):
        return "rcs"
    return "mms" if num_media else "sms"


async def _media_of(conn: Conn, message_sids: list[str]) -> dict[str, list[str]]:
    if not message_sids:
        return {}
    rows = (await conn.execute(
        select(message_media.c.message_sid, message_media.c.url).where(message_media.c.message_sid.in_(message_sids))
        .order_by(message_media.c.position)
    )).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.message_sid, []).append(row.url)
    return found


async def handsets(conn: Conn, account_sid: str, limit: int = 20) -> list[str]:
    """Handsets this account has talked with, most recent first (an RCS handset's ``rcs:+<phone>`` as its phone)."""
    texted = (await conn.execute(
        select(messages.c.from_addr, func.max(messages.c.seq).label("last"))
        .where(messages.c.account_sid == account_sid, messages.c.direction == "inbound")
        .group_by(messages.c.from_addr).order_by(func.max(messages.c.seq).desc()).limit(limit)
    )).all()
    reached = (await conn.execute(
        select(handset_inbox.c.phone_number, func.max(handset_inbox.c.id).label("last"))
        .where(handset_inbox.c.account_sid == account_sid)
        .group_by(handset_inbox.c.phone_number).order_by(func.max(handset_inbox.c.id).desc()).limit(limit)
    )).all()
    found: list[str] = []
    for number in [row[0].removeprefix(phone.RCS_PREFIX) for row in texted] + [row[0] for row in reached]:
        if number not in found:
            found.append(number)
    return found[:limit]


async def rcs_senders(conn: Conn, account_sid: str) -> list[str]:
    """The ``rcs:<agent>`` addresses of the account's RCS senders that are ``ONLINE`` (those a handset can reach),
    oldest first."""
    return list((await conn.execute(
        select(channel_senders.c.sender_id)
        .where(channel_senders.c.account_sid == account_sid, channel_senders.c.status == senders.ONLINE)
        .order_by(channel_senders.c.date_created, channel_senders.c.sid)
    )).scalars())


@dataclass(frozen=True, slots=True)
class Choice:
    """An account the header's switcher offers."""

    sid: str
    friendly_name: str
    status: str


async def switchable(conn: Conn, principal_sid: str) -> list[Choice]:
    """The signed-in account, then its subaccounts that are not closed, oldest first (no auth token is read)."""
    rows = sorted((await conn.execute(
        select(accounts.c.sid, accounts.c.friendly_name, accounts.c.status, accounts.c.parent_sid)
        .where(or_(accounts.c.sid == principal_sid, accounts.c.parent_sid == principal_sid),
               accounts.c.status != "closed")
        .order_by(accounts.c.date_created, accounts.c.sid)
    )).all(), key=lambda row: row.parent_sid is not None)  # stable: the signed-in account first
    return [Choice(row.sid, row.friendly_name, row.status) for row in rows]
