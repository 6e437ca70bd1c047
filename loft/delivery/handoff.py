"""Handing a message to a network carrier: outside every transaction, recorded right after.

1. The job is claimed (its transaction), then the send's checks run (:func:`loft.delivery.send.checked`: expired,
   account not active, opted out → ``failed``); a message with media goes ``sending`` while it is fetched.
2. :meth:`Carrier.hand_over` talks to the network, holding no transaction and no lock: on SQLite no other writer
   waits for an SMSC's answer. The message stays ``queued`` (or ``sending``) meanwhile.
3. One transaction records the outcome: the attempt with the carrier's references (where its reports will find
   it), ``sent``, the job completed; or, refused for good, the attempt and ``failed`` with the carrier's error.
   :class:`Deferred` (throttled, queue full, not connected) puts the job back for later without spending one of
   its attempts. While a carrier is down (``Carrier.up`` is False) its sends are not even claimed: they wait in
   the outbox, ``queued``, however long it is away, and leave once it is back, unless their ValidityPeriod ends
   first (30036).

**At least once.** A crash between 2 and 3 (the carrier has the message, Loft's record of it was never committed)
leaves the job claimed; when its lease runs out another worker hands the message over again, so the carrier gets
it twice. That window is one network round trip plus one commit: nothing else happens between the carrier's
answer and the record (see docs/carriers.md). The other order (record first, then hand over) would lose messages
instead, which a gateway must not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from loft import metrics
from loft.accounts.service import Account
from loft.context import Loft
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.db.tables import carrier_references, delivery_attempts
from loft.delivery import lifecycle, outbox
from loft.delivery import send as sending
from loft.delivery.carriers.base import Accepted, Carrier, Deferred, Outgoing, Rejected
from loft.delivery.carriers.plan import SIM
from loft.delivery.outbox import Job
from loft.kit import dates
from loft.messages import media
from loft.messages import service as message_service

log = logging.getLogger("loft.handoff")


async def send_to(loft: Loft, job: Job, account: Account | None) -> None:
    """Run a send job for the network carrier it names."""
    assert job.carrier is not None
    carrier = loft.carriers.get(job.carrier)
    if carrier is None:  # not run here: the carriers file changed since the send was recorded
        await loft.db.submit(lambda conn: _route_again(loft, conn, job))
        return
    message = await loft.db.submit(lambda conn: _ready(conn, job, account, loft.settings.rates))
    if message is None:
        return
    urls: list[str] = []
    if message.num_media:
        fetched = await media.fetch_outbound(loft, message)
        if isinstance(fetched, int):
            await loft.db.submit(lambda conn: _failed_before(conn, job, message, fetched))
            return
        urls = list(fetched)
    outgoing = Outgoing.of(message, urls)
    try:
        accepted = await carrier.hand_over(outgoing)
    except Deferred as wait:
        metrics.CARRIER_HANDOFFS.labels(carrier.name, "deferred").inc()
        log.debug("carrier %s deferred %s: %s", carrier.name, message.sid, wait.reason)
        later = timedelta(seconds=wait.retry_after)
        await loft.db.submit(lambda conn: outbox.defer(conn, job, delay=later))
        return
    except Rejected as refused:
        metrics.CARRIER_HANDOFFS.labels(carrier.name, "rejected").inc()
        rejection = refused
        await loft.db.submit(lambda conn: _rejected(conn, job, message, carrier, rejection))
        return
    metrics.CARRIER_HANDOFFS.labels(carrier.name, "accepted").inc()
    await loft.db.submit(lambda conn: _accepted(conn, job, message, carrier, accepted))


async def _ready(conn: Conn, job: Job, account: Account | None, rates: Mapping[str, float]) -> Record | None:
    message = await sending.checked(conn, job, account, rates)
    if message is not None and message.num_media and message.status == "queued":
        await lifecycle.change(conn, message, "sending", expected="queued")
        message = await message_service.load(conn, job.subject_sid)
    return message


async def _route_again(loft: Loft, conn: Conn, job: Job) -> None:
    message = await message_service.load(conn, job.subject_sid)
    if message is None:
        await outbox.complete(conn, job)
        return
    name = loft.carriers.route(message.to_addr)
    log.info("message %s was for carrier %s, which this deployment no longer has: sent by %s instead",
             message.sid, job.carrier, name)
    await outbox.route_again(conn, job, None if name == SIM else name)


async def _failed_before(conn: Conn, job: Job, message: Record, error_code: int) -> None:
    if await outbox.complete_claimed(conn, [job]):
        await _fail(conn, message, error_code)


async def _fail(conn: Conn, message: Record, error_code: int) -> None:
    current = await message_service.load(conn, message.sid)
    if current is not None and current.status in ("queued", "sending"):
        await lifecycle.change(conn, current, "failed", error_code=error_code, expected=current.status)


def _attempt(message: Record, carrier: Carrier, *, status: str, reference: str | None,
             error_code: int | None, detail: dict[str, Any]) -> dict[str, Any]:
    moment = dates.now()
    return {"message_sid": message.sid, "account_sid": message.account_sid, "carrier": carrier.name,
            "reference": reference, "status": status, "error_code": error_code, "detail": detail,
            "date_created": moment, "date_updated": moment}


async def _rejected(conn: Conn, job: Job, message: Record, carrier: Carrier, refused: Rejected) -> None:
    if not await outbox.complete_claimed(conn, [job]):
        return  # another worker took the send over meanwhile: its outcome stands
    await conn.execute(insert(delivery_attempts).values(**_attempt(
        message, carrier, status="rejected", reference=None, error_code=refused.error_code,
        detail={"reason": refused.reason, **refused.detail})))
    await _fail(conn, message, refused.error_code)


async def _accepted(conn: Conn, job: Job, message: Record, carrier: Carrier, accepted: Accepted) -> None:
    if not await outbox.complete_claimed(conn, [job]):
        log.warning("message %s was handed to %s after its claim ran out: another worker may hand it over too",
                    message.sid, carrier.name)
    references = list(accepted.references)
    attempt_id = (await conn.execute(insert(delivery_attempts).returning(delivery_attempts.c.id).values(**_attempt(
        message, carrier, status="sent", reference=references[0] if references else None, error_code=None,
        detail=dict(accepted.detail))))).scalar_one()
    if references:
        await conn.execute(insert(carrier_references), [
            {"carrier": carrier.name, "reference": reference, "attempt_id": attempt_id, "part": part,
             "status": "sent"} for part, reference in enumerate(references, start=1)])
    moment = dates.now()
    try:  # from the status it was handed over in (read before the hand-off: no second read here)
        await lifecycle.change(conn, message, "sent", moment=moment, date_sent=moment, expected=message.status)
    except lifecycle.Superseded:
        pass  # moved meanwhile (another worker's hand-off, a report): what it moved to stands
