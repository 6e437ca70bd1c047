"""Status callbacks: a signed, form-encoded request to the message's callback URL for each status change."""

from __future__ import annotations

from loft.accounts import service as accounts
from loft.context import Loft
from loft.delivery import outbox, send
from loft.delivery.outbox import Job
from loft.webhooks import attempts, sender


def idempotency_token(job: Job) -> str:
    """Stable for one callback event: drawn when the event was recorded, the same on every retry and re-run."""
    return str(job.payload["token"])


async def handle(loft: Loft, job: Job) -> None:
    async with loft.db.read() as conn:
        message = await send.load(conn, job.subject_sid)
        account = await accounts.get(conn, loft.box, job.account_sid)
    if message is None or account is None:
        async with loft.db.write() as conn:
            await outbox.complete(conn, job)
        return
    status = str(job.payload["status"])
    params = [
        ("AccountSid", message.account_sid),
        ("ApiVersion", accounts.API_VERSION),
        ("From", message.from_addr),
        ("MessageSid", message.sid),
        ("MessageStatus", status),
        ("SmsSid", message.sid),
        ("SmsStatus", status),
        ("To", message.to_addr),
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
        await attempts.record(conn, account_sid=message.account_sid, message_sid=message.sid,
                              kind=attempts.STATUS_CALLBACK, request=request, outcome=outcome)
        await outbox.complete(conn, job)
