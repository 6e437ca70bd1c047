"""Status callbacks: a signed, form-encoded request to the message's callback URL for each status change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loft.accounts import auth
from loft.accounts import service as accounts
from loft.context import Loft
from loft.db.engine import Conn
from loft.delivery import outbox
from loft.delivery.outbox import Job
from loft.kit.phone import RCS_PREFIX
from loft.messages import service as message_service
from loft.webhooks import attempts, sender


async def _addresses(loft: Loft, job: Job) -> tuple[str, str] | None:
    """From and To of the job's message: carried by the job (jobs recorded before they were, read them)."""
    if "from" in job.payload:
        return str(job.payload["from"]), str(job.payload["to"])
    async with loft.db.read() as conn:
        message = await message_service.load(conn, job.subject_sid)
    return None if message is None else (message.from_addr, message.to_addr)


def events(job: Job) -> list[Mapping[str, Any]]:
    """The status changes the job announces, in order (jobs recorded by earlier versions hold one, inline)."""
    listed = job.payload.get("events")
    return list(listed) if listed is not None else [job.payload]


async def handle(loft: Loft, job: Job) -> None:
    addresses = await _addresses(loft, job)
    account = await auth.lookup(loft, job.account_sid)  # its auth token signs the requests
    sent: list[tuple[sender.WebhookRequest, sender.Outcome]] = []
    if addresses is not None and account is not None:
        for event in events(job):
            request = _request(job, event, addresses, account.auth_token)
            sent.append((request, await sender.send(loft.http, request)))
    recorded = [row for request, outcome in sent
                for row in attempts.rows(account_sid=job.account_sid, message_sid=job.subject_sid,
                                         kind=attempts.STATUS_CALLBACK, request=request, outcome=outcome)]
    await loft.db.submit_item(_record, (job, recorded))


async def _record(conn: Conn, done: list[tuple[Job, list[dict[str, Any]]]]) -> list[None | Exception]:
    """The attempts of the callbacks sent by ``done``'s jobs, and the jobs completed: a few statements for all
    (the jobs that finish meanwhile are recorded together: :meth:`loft.db.engine.Database.submit_item`)."""
    await attempts.record_rows(conn, [row for _, recorded in done for row in recorded])
    await outbox.complete_all(conn, [job for job, _ in done])
    return [None] * len(done)


def _request(job: Job, event: Mapping[str, Any], addresses: tuple[str, str], auth_token: str
             ) -> sender.WebhookRequest:
    status = str(event["status"])
    params = [
        ("AccountSid", job.account_sid),
        ("ApiVersion", accounts.API_VERSION),
        ("From", addresses[0]),
        ("MessageSid", job.subject_sid),
        ("MessageStatus", status),
        ("SmsSid", job.subject_sid),
        ("SmsStatus", status),
        ("To", addresses[1]),
    ]
    if job.payload.get("service"):
        params.append(("MessagingServiceSid", str(job.payload["service"])))
    if addresses[0].startswith(RCS_PREFIX):  # sent over RCS: the channel says so, and a read is an event of it
        params.append(("ChannelPrefix", "rcs"))
        if status == "read":
            params.append(("EventType", "READ"))
    if event.get("error_code"):
        params.append(("ErrorCode", str(event["error_code"])))
    if event.get("raw_dlr_done_date"):
        params.append(("RawDlrDoneDate", str(event["raw_dlr_done_date"])))
    return sender.WebhookRequest(
        url=str(job.payload["url"]),
        method="GET" if job.payload.get("method") == "GET" else "POST",
        params=params,
        auth_token=auth_token,
        # Drawn when the event was recorded: the same on every retry and re-run.
        idempotency_token=str(event["token"]),
    )
