"""The webhook attempt log: one row per HTTP attempt, readable per message through the API and the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from loft import metrics
from loft.db.engine import Conn
from loft.db.prepared import Prepared
from loft.db.tables import webhook_attempts
from loft.kit import dates

if TYPE_CHECKING:
    from loft.webhooks.sender import Outcome, WebhookRequest

_RECORD = Prepared(insert(webhook_attempts))

STATUS_CALLBACK = "status_callback"
INBOUND = "inbound"
FALLBACK = "fallback"
REDIRECT = "redirect"


async def record(conn: Conn, *, account_sid: str, message_sid: str, kind: str,
                 request: WebhookRequest, outcome: Outcome) -> None:
    for row in rows(account_sid=account_sid, message_sid=message_sid, kind=kind, request=request, outcome=outcome):
        await conn.execute(_RECORD, row)  # one row at a time: the prepared statement's fast path


async def record_rows(conn: Conn, recorded: list[dict[str, Any]]) -> None:
    """Record the attempts of :func:`rows` (of many requests), in as few statements as the database allows."""
    await conn.execute_many(_RECORD, recorded)


def rows(*, account_sid: str, message_sid: str, kind: str, request: WebhookRequest,
         outcome: Outcome) -> list[dict[str, Any]]:
    """The rows that record ``outcome``'s attempts (counted in the metrics as they are made)."""
    moment = dates.now()
    params = [list(pair) for pair in request.params]
    made = []
    for attempt in outcome.attempts:
        metrics.webhook_attempt(kind, attempt.error_code)
        made.append({
            "account_sid": account_sid,
            "message_sid": message_sid,
            "kind": kind,
            "attempt": attempt.number,
            "url": attempt.url,
            "method": attempt.method,
            "request_params": params,
            "idempotency_token": request.idempotency_token,
            "status_code": attempt.status_code,
            "latency_ms": attempt.latency_ms,
            "response_excerpt": attempt.response_excerpt,
            "error_code": attempt.error_code,
            "error_message": attempt.error_message,
            "date_created": moment,
        })
    return made


async def for_message(conn: Conn, message_sid: str) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            select(webhook_attempts).where(webhook_attempts.c.message_sid == message_sid)
            .order_by(webhook_attempts.c.id)
        )
    ).all()
    return [
        {
            "kind": row.kind,
            "attempt": row.attempt,
            "url": row.url,
            "method": row.method,
            "request_params": {name: value for name, value in row.request_params},
            "idempotency_token": row.idempotency_token,
            "status_code": row.status_code,
            "latency_ms": row.latency_ms,
            "response_excerpt": row.response_excerpt,
            "error_code": row.error_code,
            "error_message": row.error_message,
            "date_created": dates.iso8601(row.date_created),
        }
        for row in rows
    ]
