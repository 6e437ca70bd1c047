"""The senders' job: a new RCS sender goes ``ONLINE`` once its (simulated) launch is over."""

from __future__ import annotations

from loft.context import Loft
from loft.delivery import jobs, outbox
from loft.delivery.outbox import Job
from loft.senders import service


@jobs.handles(service.ONLINE_JOB)
async def bring_sender_online(loft: Loft, job: Job) -> None:
    async with loft.db.write() as conn:
        await service.bring_online(conn, job.subject_sid)
        await outbox.complete(conn, job)
