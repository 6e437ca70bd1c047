"""The outbound path of one message: claim → checks → ``sending`` → carrier → ``sent`` → delivery report.

Each step is its own transaction, and the hand-off to a transactional carrier (the simulator) commits with
the ``sent`` status, so a crash at any point neither loses the message nor hands it over twice. A message with
nothing to fetch (no media) for a transactional carrier goes from ``queued`` to ``sent`` in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from loft.accounts import auth
from loft.accounts.service import Account
from loft.context import Loft
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.delivery import lifecycle, outbox
from loft.delivery.outbox import Job
from loft.kit import dates
from loft.messages import media, optout
from loft.messages import service as message_service


async def _refusal(conn: Conn, message: Row[Any], account: Account | None) -> int | None:
    """An error code if the message must fail before it leaves, else None."""
    age = dates.now() - dates.as_utc(message.date_created)
    if age > timedelta(seconds=message.validity_period):
        return 30036
    if account is None or account.status != "active":
        return 30002
    if not message.options.get("auto_reply") and await optout.is_opted_out(
        conn, sender=message.from_addr, recipient=message.to_addr
    ):
        return 21610
    return None


async def handle_send(loft: Loft, job: Job, created: Record | None = None) -> None:
    """Send the job's message. ``created``: the message as its create wrote it, handed over with the job by the
    API of this process (a message without media, for a carrier that takes it within the transaction)."""
    # Read as authentication reads it (a suspension made through this process applies at once, one made
    # through another within the credential cache's second), and outside the write transaction.
    account = await auth.lookup(loft, job.account_sid)
    if created is not None:
        try:
            await loft.db.submit(lambda conn: _send_handed(loft, conn, job, account, created))
        except lifecycle.Superseded:
            pass  # another worker took the job over after this one's lease ran out: it is the other's now
        return
    message = await loft.db.submit(lambda conn: _start(loft, conn, job, account))
    if message is None:
        return
    fetched = await media.fetch_outbound(loft, message)
    if isinstance(fetched, int):
        async with loft.db.write() as conn:
            await lifecycle.change(conn, message, "failed", error_code=fetched)
            await outbox.complete(conn, job)
        return
    async with loft.db.write() as conn:
        message = await message_service.load(conn, job.subject_sid)
        if message is None or message.status != "sending":
            await outbox.complete(conn, job)
            return
        await _hand_over(loft, conn, message, job, fetched)


async def _start(loft: Loft, conn: Conn, job: Job, account: Account | None) -> Record | None:
    """The send's first transaction: the checks, then the hand-over itself when there is no media to fetch
    first (None: the job is done), else ``sending`` (the message, whose media is to be fetched)."""
    message = await message_service.load(conn, job.subject_sid)
    if message is None or message.status not in ("queued", "sending"):
        await outbox.complete(conn, job)
        return None
    if message.status == "queued":
        refusal = await _refusal(conn, message, account)
        if refusal is not None:
            await lifecycle.change(conn, message, "failed", error_code=refusal)
            await outbox.complete(conn, job)
            return None
        if loft.carrier.transactional and not message.num_media:
            # Nothing to wait for outside the database: hand over in this same transaction
            # (``sending`` would be seen by nobody, and is silent anyway).
            await _hand_over(loft, conn, message, job, [])
            return None
        await lifecycle.change(conn, message, "sending")
    return message


async def _send_handed(loft: Loft, conn: Conn, job: Job, account: Account | None, message: Record) -> None:
    """A send handed over in memory, in one transaction, without reading the message again: only the send
    changes a queued message, and the job is this worker's only while its claim is (else another worker took it
    over, with the message); completing the job first settles that."""
    if not await outbox.complete_if_claimed(conn, job):
        raise lifecycle.Superseded(f"job {job.id} was taken over by another worker")
    refusal = await _refusal(conn, message, account)
    if refusal is not None:
        await lifecycle.change(conn, message, "failed", error_code=refusal)
        return
    await _hand_over(loft, conn, message, job, [], completed=True)


async def _hand_over(loft: Loft, conn: Conn, message: Row[Any], job: Job, media_urls: list[str], *,
                     completed: bool = False) -> None:
    """Give the message to the carrier and record ``sent`` (and the delivery report to come); then complete the
    job, unless that is ``completed`` already."""
    receipt = await loft.carrier.submit(conn, message, media_urls)
    moment = dates.now()
    if receipt is not None and receipt.delay_ms <= 0:
        # A delivery report due at once (the simulator's default) is applied in this same transaction: one
        # update from `queued` (or `sending`) to the final status, and both callbacks in one job, which sends
        # `sent` before the final status.
        sent = lifecycle.event(message, "sent")
        final = await lifecycle.change(conn, message, receipt.outcome, moment=moment, date_sent=moment,
                                       error_code=receipt.error_code, raw_dlr_done_date=_dlr_date(moment),
                                       announce=False, expected=message.status)
        await lifecycle.announce_all(conn, message, [event for event in (sent, final) if event is not None])
    else:
        await lifecycle.change(conn, message, "sent", moment=moment, date_sent=moment, expected=message.status)
        if receipt is not None:
            await outbox.enqueue(
                conn, outbox.RECEIPT, subject_sid=message.sid, account_sid=message.account_sid,
                at=moment + timedelta(milliseconds=receipt.delay_ms),
                payload={"outcome": receipt.outcome, "error_code": receipt.error_code},
            )
    if not completed:
        await outbox.complete(conn, job)


def _dlr_date(moment: datetime) -> str:
    """RawDlrDoneDate: when the carrier says the message was delivered, as ``YYMMDDhhmm``."""
    return f"{moment.year % 100:02d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}{moment.minute:02d}"


async def handle_receipt(loft: Loft, job: Job) -> None:
    await loft.db.submit(lambda conn: _apply_receipt(conn, job))


async def _apply_receipt(conn: Conn, job: Job) -> None:
    message = await message_service.load(conn, job.subject_sid)
    if message is not None and message.status == "sent":
        moment = dates.now()
        await lifecycle.change(
            conn, message, str(job.payload["outcome"]), moment=moment,
            error_code=job.payload.get("error_code"), raw_dlr_done_date=_dlr_date(moment),
        )
    await outbox.complete(conn, job)
