"""Delivery's jobs: sends, the simulator's delivery reports, and carriers' reports waiting for their hand-off's
record."""

from __future__ import annotations

import logging
from datetime import timedelta

from loft.context import Loft
from loft.delivery import jobs, outbox, send
from loft.delivery.outbox import Job
from loft.messages import intake

log = logging.getLogger("loft.intake")


@jobs.handles(outbox.SEND)
async def send_message(loft: Loft, job: Job) -> None:
    await send.handle_send(loft, job)


@jobs.handles(outbox.RECEIPT)
async def simulator_report(loft: Loft, job: Job) -> None:
    await send.handle_receipt(loft, job)


@jobs.handles(outbox.REPORT)
async def carrier_report(loft: Loft, job: Job) -> None:
    """A report that came before the record of its hand-off: matched again, backing off, a few times."""
    report = intake.report_of(dict(job.payload))
    async with loft.db.write() as conn:
        if await intake.apply_report(conn, report):
            await outbox.complete(conn, job)
        elif job.attempts >= intake.UNMATCHED_TRIES:
            log.warning("carrier %s: a delivery report for %s, which no message was handed over as, was dropped",
                        report.carrier, report.reference)
            await outbox.complete(conn, job)
        else:
            await outbox.postpone(conn, job, delay=timedelta(seconds=min(2 ** job.attempts, 60)))
