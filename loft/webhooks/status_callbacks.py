"""Status callbacks: a signed, form-encoded request to the message's callback URL for each status change."""

from __future__ import annotations

from loft.accounts import auth
from loft.accounts import service as accounts
from loft.context import Loft
from loft.delivery import outbox, send
from loft.delivery.outbox import Job
from loft.webhooks import attempts, sender


def idempotency_token(job: Job) -> str:
    """Stable for one callback event: drawn when the event was recorded, the same on every retry and re-run."""
    return str(job.payload["token"])


async def _addresses(loft: Loft, job: Job) -> tuple[str, str] | None:
    """From and To of the job's message: carried by the job (jobs recorded before they were, read them)."""
    if "from" in job.payload:
        return str(job.payload["from"]), str(job.payload["to"])
    async with loft.db.read() as conn:
        message = await send.load(conn, job.subject_sid)
    return None if message is None else (message.from_addr, message.to_addr)


async def handle(loft: Loft, job: Job) -> None:
    addresses = await _addresses(loft, job)
    account = await auth.lookup(loft, job.account_sid)  # its auth token signs the request
    if addresses is None or account is None:
        async with loft.db.write() as conn:
            await outbox.complete(conn, job)
        return
    status = str(job.payload["status"])
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
    if job.payload.get("error_code"):
        params.append(("ErrorCode", str(job.payload["error_code"])))
    if job.payload.get("raw_dlr_done_date"):
        params.append(("RawDlrDoneDate", str(job.payload["raw_dlr_done_date"])))
    request = sender.WebhookRequest(
        url=str(job.payload["url"]),
        method="GET" if job.payload.get("method") == "GET" else "POST",
        params=params,
        auth_token=account.auth_token,
        idempotency_token=idempotency_token(job),
    )
    outcome = await sender.send(loft.http, request)
    async with loft.db.write() as conn:
        await attempts.record(conn, account_sid=job.account_sid, message_sid=job.subject_sid,
                              kind=attempts.STATUS_CALLBACK, request=request, outcome=outcome)
        await outbox.complete(conn, job)
