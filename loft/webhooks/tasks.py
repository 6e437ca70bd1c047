"""The webhooks' jobs: status callbacks, and inbound messages' requests to their number's (or Application's) URL."""

from __future__ import annotations

from loft.context import Loft
from loft.delivery import jobs, outbox
from loft.delivery.outbox import Job
from loft.webhooks import inbound, status_callbacks


@jobs.handles(outbox.CALLBACK)
async def send_status_callback(loft: Loft, job: Job) -> None:
    await status_callbacks.handle(loft, job)


@jobs.handles(outbox.INBOUND)
async def request_inbound_webhook(loft: Loft, job: Job) -> None:
    await inbound.handle(loft, job)
