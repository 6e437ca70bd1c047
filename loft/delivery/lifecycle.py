"""Status changes of a message, each recorded with its status callback in one transaction.

Outbound: ``queued → sending → sent → delivered | undelivered``, or ``failed`` before it leaves; through a
Messaging Service, ``accepted`` (or ``scheduled``, which may become ``canceled``) before ``queued``. A callback
is due on every change after creation (``sending`` is silent, as it is in practice at Twilio) to the
message's ``StatusCallback`` (its service's when it named none), else to its Application's
``MessageStatusCallback``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from loft import metrics
from loft.db.engine import Conn
from loft.db.prepared import Prepared, Record, among, list_length, values_of
from loft.db.tables import applications, messages
from loft.delivery import outbox
from loft.errors import LoftError
from loft.kit import dates, tokens
from loft.messages import retention, scheduled

#: Twilio's texts for the asynchronous error codes a message can end with.
ERROR_MESSAGES = {
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Phone Number",
    21610: "Attempt to send to unsubscribed recipient",
    21703: "Messaging Service has no sender for this recipient",
    21704: "Messaging Service contains no phone numbers",
    21705: "Messaging Service does not exist",
    30001: "Queue overflow",
    30002: "Account suspended",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30036: "Validity Period Expired",
    19023: "Content has no twilio/text or twilio/media translation to fall back to SMS or MMS",
    63106: "The recipient's device is not RCS capable",
    11200: "HTTP retrieval failure",
    11751: "Media exceeds the Messaging limit",
    12300: "Invalid Content-Type",
}
SILENT = frozenset({"sending"})
#: The columns to set are the parameters given with it, besides ``target_sid`` (and ``expected_status``).
_UPDATE = Prepared(update(messages).where(messages.c.sid == bindparam("target_sid")))
_UPDATE_FROM = Prepared(update(messages).where(messages.c.sid == bindparam("target_sid"),
                                               messages.c.status == bindparam("expected_status")))


class Superseded(LoftError):
    """The message was no longer in the status the change was made from: another worker moved it meanwhile."""
_APPLICATION_CALLBACK = Prepared(select(applications.c.message_status_callback).where(
    applications.c.sid == bindparam("sid"), applications.c.account_sid == bindparam("account_sid")))
FINAL = frozenset({"delivered", "undelivered", "failed", "received", "canceled", "read"})


def may_announce(message: Row[Any]) -> bool:
    """Whether the message names somewhere for its status callbacks (a ``StatusCallback``, or an Application,
    whose own may be empty): without either, :func:`callback_url` is None, and no event needs to be made."""
    return bool(message.status_callback or message.application_sid)


async def callback_url(conn: Conn, message: Row[Any]) -> tuple[str, str] | None:
    """Where this message's status callbacks go, and with which method, by Twilio's precedence."""
    if message.status_callback:
        return message.status_callback, message.status_callback_method or "POST"
    if message.application_sid:
        url = (await conn.execute(_APPLICATION_CALLBACK, {"sid": message.application_sid,
                                                           "account_sid": message.account_sid})).scalar()
        if url:
            return str(url), "POST"
    return None


async def change(conn: Conn, message: Row[Any], status: str, *, error_code: int | None = None,
                 moment: datetime | None = None, raw_dlr_done_date: str | None = None, announce: bool = True,
                 expected: str | None = None, **values: Any) -> Event | None:
    """Move ``message`` to ``status`` and record the status callback that announces it.

    With ``announce=False`` the callback's event is returned instead of recorded, for the caller to record it
    with the events that follow it in one job (:func:`announce_all`), sent in order. With ``expected``, the
    change is made only from that status, else :class:`Superseded` is raised (the hand-over to a carrier
    checks so that a message is handed over once, whatever workers believe).
    """
    moment = moment or dates.now()
    if error_code is not None:
        values["error_code"] = error_code
        values["error_message"] = ERROR_MESSAGES.get(error_code)
    values.update(erased(message, status))
    values.update(target_sid=message.sid, status=status, date_updated=moment)
    if expected is None:
        await conn.execute(_UPDATE, values)
    elif (await conn.execute(_UPDATE_FROM, {**values, "expected_status": expected})).rowcount != 1:
        raise Superseded(f"message {message.sid} is no longer {expected}")
    await _left(conn, message, status)
    if status != message.status:
        conn.after_commit(partial(metrics.reached, status))
    announced = event(message, status, error_code=error_code, raw_dlr_done_date=raw_dlr_done_date)
    if announce and announced is not None:
        await announce_all(conn, message, [announced])
    return announced


async def change_many(conn: Conn, changes: Sequence[tuple[Row[Any], str, int | None]], *, moment: datetime,
                      date_sent: datetime | None) -> None:
    """Move many messages at once, each from the status it was read in to its new one (with its error code),
    as :func:`change` with ``expected`` and ``announce=False`` does one: :class:`Superseded` if any had moved.
    One ``UPDATE … WHERE sid IN (…)`` for all the messages that make the same move (a batch handed to a carrier
    is mostly ``queued`` → ``delivered``)."""
    moves: dict[tuple[str, str, int | None], list[str]] = {}
    besides: list[tuple[Row[Any], str]] = []  # the few whose move does more than their status (see _left, erased)
    for message, status, error_code in changes:
        moves.setdefault((message.status, status, error_code), []).append(message.sid)
        if message.options or message.status == "scheduled":
            besides.append((message, status))
    changed = 0
    for (expected, status, error_code), sids in moves.items():
        changed += (await conn.execute(_update_from(list_length(len(sids))), {
            **values_of("target", sids), "expected_status": expected,
            **columns(status, error_code=error_code, moment=moment, date_sent=date_sent),
        })).rowcount
    if changed != len(changes):
        raise Superseded(f"some of {len(changes)} messages were no longer in the status they were read in")
    for message, status in besides:
        if erasing := erased(message, status):
            await conn.execute(_UPDATE, {**erasing, "target_sid": message.sid})
        await _left(conn, message, status)
    for (expected, status, _), sids in moves.items():
        if status != expected:
            conn.after_commit(partial(metrics.reached, status, len(sids)))


def erased(message: Record, status: str) -> dict[str, Any]:
    """What a move to ``status`` erases of a message created with ``ContentRetention=discard`` or
    ``AddressRetention=obfuscate`` (:mod:`loft.messages.retention`): its columns, once the status is final."""
    return retention.erased(message.options, message.to_addr) if message.options and status in FINAL else {}


async def _left(conn: Conn, message: Record, status: str) -> None:
    """Give back the account's count of scheduled messages for one that leaves ``scheduled``
    (:mod:`loft.messages.scheduled`)."""
    if message.status == "scheduled" and status != "scheduled":
        await scheduled.release(conn, message.account_sid)


def columns(status: str, *, error_code: int | None, moment: datetime, date_sent: datetime | None) -> dict[str, Any]:
    """The columns of a message that a move to ``status`` (with its error code, or none) at ``moment`` sets."""
    return {"status": status, "date_updated": moment, "date_sent": date_sent, "error_code": error_code,
            "error_message": ERROR_MESSAGES.get(error_code) if error_code is not None else None}


@lru_cache(maxsize=None)
def _update_from(length: int) -> Prepared:
    return Prepared(update(messages).where(among(messages.c.sid, "target", length),
                                           messages.c.status == bindparam("expected_status")))


def event(message: Row[Any], status: str, *, error_code: int | None = None,
          raw_dlr_done_date: str | None = None) -> Event | None:
    """The status callback's event for ``message`` reaching ``status``; None if that change is not announced."""
    if status in SILENT or message.direction == "inbound":
        return None
    return {"status": status, "error_code": error_code, "raw_dlr_done_date": raw_dlr_done_date}


#: One status callback to send: the status, its error code and DLR date, and (once recorded) its idempotency
#: token, drawn when the event is recorded: the same on every retry.
Event = dict[str, Any]


async def announce_all(conn: Conn, message: Row[Any], events: list[Event]) -> None:
    """Record one callback job that sends ``events`` one after the other, if the message has somewhere to send
    them (several events in one job arrive in their order; separate jobs may overtake each other)."""
    await announce_many(conn, [(message, events)])


async def announce_many(conn: Conn, announced: Sequence[tuple[Row[Any], list[Event]]], *,
                        lease: outbox.Lease | None = None) -> dict[str, outbox.Job]:
    """:func:`announce_all` for many messages, recorded in one statement. With ``lease``, the jobs are recorded
    claimed already by that worker, which is given them in memory once committed (as a send handed over is:
    see :func:`outbox.enqueue`); returned by message SID (none for a message with nowhere to send them)."""
    jobs = []
    for message, events in announced:
        target = await callback_url(conn, message) if events and may_announce(message) else None
        if target is None:
            continue
        url, method = target
        # From and To travel with the job, so that sending it needs no read of the message.
        payload = {"events": [{**event, "token": tokens.hex(20)} for event in events], "url": url, "method": method,
                   "from": message.from_addr, "to": message.to_addr}
        if message.messaging_service_sid is not None:
            payload["service"] = message.messaging_service_sid  # the callbacks carry MessagingServiceSid
        jobs.append((message.sid, message.account_sid, payload))
    if not jobs:
        return {}
    if lease is None:
        await outbox.enqueue_many(conn, outbox.CALLBACK, jobs)
        return {}
    recorded = await outbox.enqueue_rows(conn, [outbox.NewJob(outbox.CALLBACK, sid, account_sid, payload=payload,
                                                              lease=lease) for sid, account_sid, payload in jobs])
    return {job.subject_sid: job for job in recorded}
