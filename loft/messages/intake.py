"""What comes back from carriers: delivery reports and mobile-originated messages, from every carrier alike.

The simulator's handsets, an SMSC's ``deliver_sm`` and a relayed upstream's webhooks all end here:

- :func:`accept` stores an inbound message for the account that owns the number it was sent to, with the opt-out
  keywords applied (and their auto-reply queued); a number in a Messaging Service's pool gives the message that
  service's SID (``messaging_service_sid``, as Twilio sets it), which routes it; its webhook job (the service's
  InboundRequestUrl, the number's SmsUrl, or its Application's) is recorded with it, and TwiML replies follow
  from there (:mod:`loft.webhooks.inbound`). A message to an RCS sender (``rcs:<agent>``: a handset's reply or
  button tap) is routed the same way by the service whose pool holds the sender, and its opt-out keywords are
  applied as a number's are (one opt-out for SMS, MMS and RCS). A keyword to a sender in a pool applies to the
  whole service (:mod:`loft.messages.optout`).
- :func:`apply_report` finds the hand-off a carrier's report is about by the carrier's reference, records the
  part's outcome, and moves the message to its final status once its parts say so: a message sent in parts is
  delivered when every part is, undelivered (or failed) as soon as one part is. Reports may come in any order:
  a final status is never taken back, and a later ``sent`` changes nothing.
- :func:`settle` is that last step, for the simulator's own reports too.

:class:`Intake` is what a network carrier is given (:class:`loft.delivery.carriers.base.Intake`): each call
returns once what it was given is committed, so a carrier acknowledges upstream only what Loft holds.
:func:`take_report` and :func:`take_incoming` do the same in a caller's transaction (the relay's webhooks record
their idempotency token with what they bring: :mod:`loft.carriers.service`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select, update

from loft import metrics
from loft.config import Settings
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.db.tables import carrier_references, delivery_attempts, incoming_phone_numbers
from loft.delivery import lifecycle, outbox
from loft.delivery.carriers.base import Incoming, Outcome, Report
from loft.kit import dates, phone
from loft.messages import optout
from loft.messages import service as messages
from loft.messaging_services import pool

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.intake")

#: Outcomes a part (or a message) does not leave once it has one.
FINAL: frozenset[str] = frozenset({"delivered", "undelivered", "failed"})
#: A report whose reference is not recorded yet is looked for again this many times (backing off), then dropped.
UNMATCHED_TRIES = 8
#: Reports kept with an attempt, at most (a message in many parts keeps the last ones).
KEPT_REPORTS = 10


def dlr_date(moment: datetime) -> str:
    """RawDlrDoneDate: when the carrier says the message was delivered, as ``YYMMDDhhmm``."""
    return f"{moment.year % 100:02d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}{moment.minute:02d}"


async def accept(conn: Conn, settings: Settings, *, account_sid: str, from_: str, to: str, body: str,
                 media_urls: list[str], options: dict[str, Any] | None = None, auto_reply: bool = True) -> Record:
    """Store a message a phone sent to ``to`` (a number of ``account_sid``): ``received`` (``receiving`` while
    its media is fetched), with the service whose pool holds ``to`` (if any) and its webhook job; an opt-out
    keyword (STOP, START, HELP …) is applied (to the whole service, for a sender in a pool) and answered by its
    auto-reply from ``to`` (unless ``auto_reply`` is False: the carrier's network answered it already)."""
    rcs = to.startswith(phone.RCS_PREFIX)
    service_sid = await (pool.service_of_channel_sender if rcs else pool.service_of_number)(conn, account_sid, to)
    word = optout.keyword(body) if not media_urls else None
    extra = dict(options or {})
    if word is not None:
        extra["opt_out_type"] = word
    message = await messages.store(
        conn, settings, account_sid=account_sid, direction="inbound", from_=from_, to=to, body=body,
        media_urls=media_urls, mms=bool(media_urls), status="receiving" if media_urls else "received",
        options=extra or None, messaging_service_sid=service_sid,
    )
    if word is not None:
        await optout.apply(conn, word, sender=to, recipient=from_, account_sid=account_sid, service_sid=service_sid)
    if word is not None and auto_reply:
        await messages.store(
            conn, settings, account_sid=account_sid, direction="outbound-reply", from_=to, to=from_,
            body=optout.AUTO_REPLIES[word], media_urls=[], mms=False, status="queued",
            options={"auto_reply": True},
        )
    return message


async def owner_of(conn: Conn, number: str) -> str | None:
    """The account that owns the Loft number ``number``, if any."""
    found = await conn.execute(select(incoming_phone_numbers.c.account_sid)
                               .where(incoming_phone_numbers.c.phone_number == number))
    owner = found.scalar()
    return None if owner is None else str(owner)


async def settle(conn: Conn, message: Row[Any], outcome: Outcome, *, error_code: int | None = None,
                 moment: datetime | None = None) -> bool:
    """Move a handed-over message to the final status its delivery report gives (with its status callback);
    False, changing nothing, if it has one already (reports out of order, or repeated) or ``outcome`` is ``sent``."""
    if outcome == "sent" or message.status in FINAL or message.status not in ("sent", "sending", "queued"):
        return False
    moment = moment or dates.now()
    try:
        await lifecycle.change(conn, message, outcome, moment=moment, error_code=error_code,
                               raw_dlr_done_date=dlr_date(moment), expected=message.status)
    except lifecycle.Superseded:
        return False  # another report moved it meanwhile: the first one stands
    return True


def _overall(parts: list[str]) -> str | None:
    """A message's outcome from its parts' (None: not final yet): failed or undelivered as soon as a part is,
    delivered once all are."""
    for bad in ("failed", "undelivered"):
        if bad in parts:
            return bad
    if parts and all(part == "delivered" for part in parts):
        return "delivered"
    return None


async def apply_report(conn: Conn, report: Report) -> bool:
    """Record a carrier's delivery report; False if no hand-off has the reference it names (yet)."""
    found = (await conn.execute(
        select(carrier_references.c.attempt_id, carrier_references.c.status)
        .where(carrier_references.c.carrier == report.carrier, carrier_references.c.reference == report.reference)
    )).first()
    if found is None:
        return False
    # The attempt's row is locked first: reports about its other parts, applied at the same time in other
    # transactions (PostgreSQL), wait here, and then read the part statuses and reports this one leaves.
    attempt = (await conn.execute(select(delivery_attempts).where(delivery_attempts.c.id == found.attempt_id)
                                  .with_for_update())).one()
    if report.outcome != "sent":
        await conn.execute(update(carrier_references).values(status=report.outcome).where(
            carrier_references.c.carrier == report.carrier, carrier_references.c.reference == report.reference,
            carrier_references.c.status.not_in(sorted(FINAL))))
    parts = list((await conn.execute(select(carrier_references.c.status)
                                     .where(carrier_references.c.attempt_id == attempt.id))).scalars())
    reports = [*attempt.detail.get("reports", []), {"reference": report.reference, "outcome": report.outcome,
                                                     **({"error_code": report.error_code} if report.error_code else {}),
                                                     **dict(report.detail)}][-KEPT_REPORTS:]
    outcome = _overall(parts)
    moment = dates.now()
    values: dict[str, Any] = {"detail": {**attempt.detail, "reports": reports}, "date_updated": moment}
    if outcome is not None and attempt.status not in FINAL:
        values.update(status=outcome, error_code=report.error_code if outcome != "delivered" else None)
    await conn.execute(update(delivery_attempts).values(**values).where(delivery_attempts.c.id == attempt.id))
    if outcome is not None and attempt.status not in FINAL:
        message = await messages.load(conn, attempt.message_sid)
        if message is not None:
            await settle(conn, message, outcome,  # type: ignore[arg-type]
                         error_code=report.error_code if outcome != "delivered" else None, moment=moment)
    return True


async def take_report(conn: Conn, report: Report) -> bool:
    """Apply ``report`` in the caller's transaction, or, when its reference is not recorded yet (the report
    overtook the record of its hand-off), keep it in the outbox to be matched again shortly; True if it matched."""
    metrics.CARRIER_REPORTS.labels(report.carrier, report.outcome).inc()
    if await apply_report(conn, report):
        return True
    await outbox.enqueue(conn, outbox.REPORT, subject_sid="", account_sid="",
                         at=dates.now() + timedelta(seconds=1), payload=_payload(report))
    return False


async def take_incoming(conn: Conn, settings: Settings, incoming: Incoming) -> Record | None:
    """Store ``incoming`` for the account that owns its number, in the caller's transaction (None: no account
    owns it, and it is dropped)."""
    owner = await owner_of(conn, incoming.to)
    if owner is None:
        log.warning("carrier %s: a message for %s, which no account owns, was dropped", incoming.carrier, incoming.to)
        return None
    options: dict[str, Any] = {"carrier": incoming.carrier}
    if incoming.reference:
        options["carrier_reference"] = incoming.reference
    return await accept(conn, settings, account_sid=owner, from_=incoming.from_, to=incoming.to, body=incoming.body,
                        media_urls=list(incoming.media_urls), options=options,
                        auto_reply=not incoming.keywords_answered)


class Intake:
    """The intake a network carrier is started with (:class:`loft.delivery.carriers.base.Intake`)."""

    def __init__(self, loft: Loft) -> None:
        self.loft = loft

    async def report(self, report: Report) -> None:
        """:func:`take_report`, committed."""
        await self.report_all([report])

    async def report_all(self, reports: Sequence[Report]) -> None:
        """:func:`take_report` for each of ``reports``, committed together."""
        async with self.loft.db.write() as conn:
            for report in reports:
                await take_report(conn, report)
        self.loft.wake()

    async def receive(self, incoming: Incoming) -> str | None:
        """:func:`take_incoming`, committed; the message's SID."""
        async with self.loft.db.write() as conn:
            message = await take_incoming(conn, self.loft.settings, incoming)
        if message is None:
            return None
        self.loft.wake()
        return str(message.sid)


def _payload(report: Report) -> dict[str, Any]:
    return {"carrier": report.carrier, "reference": report.reference, "outcome": report.outcome,
            "error_code": report.error_code, "detail": dict(report.detail)}


def report_of(payload: dict[str, Any]) -> Report:
    return Report(carrier=payload["carrier"], reference=payload["reference"], outcome=payload["outcome"],
                  error_code=payload.get("error_code"), detail=payload.get("detail") or {})
