"""The message log (filters by number, status, direction and date; new messages and status changes appear
without a reload: the page polls ``/console/messages/log.json``) and one message's page: its fields, media,
status history and every webhook attempt made for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Row
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loft.console import queries, web
from loft.console.web import Visit
from loft.delivery import attempts as delivery_attempts
from loft.errors import InvalidParameter
from loft.kit import dates, paging
from loft.messages import service
from loft.webhooks import attempts

#: How much of a body the log shows.
EXCERPT = 80


@dataclass(frozen=True, slots=True)
class LogRow:
    """One line of the message log, as the page renders it and as its script redraws it."""

    sid: str
    when: str
    direction: str
    from_addr: str
    to_addr: str
    excerpt: str
    num_media: int
    status: str
    error_code: int | None

    @classmethod
    def of(cls, message: Row[Any]) -> LogRow:
        body = message.body or ""
        return cls(message.sid, web.when(message.date_sent or message.date_created), message.direction,
                   message.from_addr, message.to_addr,
                   body if len(body) <= EXCERPT else body[: EXCERPT - 1].rstrip() + "…",
                   int(message.num_media or 0), message.status, message.error_code)

    def json(self) -> dict[str, Any]:
        return {"sid": self.sid, "when": self.when, "direction": self.direction, "from": self.from_addr,
                "to": self.to_addr, "excerpt": self.excerpt, "num_media": self.num_media, "status": self.status,
                "error_code": self.error_code}


@dataclass(frozen=True, slots=True)
class LogPage:
    wanted: queries.LogFilter
    rows: list[LogRow]
    #: The page's own query string (its filters and page number), for the page's script to poll.
    query: str
    previous: str | None
    next: str | None
    filter_error: str | None


async def _log_page(visit: Visit) -> LogPage:
    wanted = queries.LogFilter.of(visit.query)
    try:
        number = min(max(int(visit.query.get("page") or 0), 0), paging.last_page(queries.PAGE_SIZE))
    except ValueError:
        number = 0
    filter_error = None
    rows: list[Row[Any]] = []
    more = False
    try:
        async with visit.loft.db.read() as conn:
            rows, more = await queries.message_log(conn, visit.account.sid, wanted, number)
    except InvalidParameter as error:
        if "must be a day from" in error.message:
            filter_error = f"Dates run from {dates.FIRST_DAY} to {dates.LAST_DAY}."
        else:
            filter_error = "Dates are written YYYY-MM-DD." if "Date" in error.message else error.message
    query = {name: value for name, value in (("number", wanted.number), ("status", wanted.status),
                                             ("direction", wanted.direction), ("date_from", wanted.date_from),
                                             ("date_to", wanted.date_to)) if value}
    return LogPage(wanted=wanted, rows=[LogRow.of(row) for row in rows],
                   query=urlencode({**query, "page": number}),
                   previous=f"?{urlencode({**query, 'page': number - 1})}" if number > 0 else None,
                   next=f"?{urlencode({**query, 'page': number + 1})}" if more else None,
                   filter_error=filter_error)


async def list_messages(visit: Visit) -> Response:
    log = await _log_page(visit)
    return visit.render("messages.html", log=log, wanted=log.wanted, statuses=queries.STATUSES,
                        directions=queries.DIRECTIONS)


async def log_json(visit: Visit) -> Response:
    """The same page of the log, for the page's script: it polls this to show new messages and status changes
    without a reload, as the virtual phone does with its thread."""
    log = await _log_page(visit)
    return JSONResponse({"messages": [row.json() for row in log.rows], "previous": log.previous, "next": log.next,
                         "error": log.filter_error}, headers=web.SECURITY_HEADERS)


_STAGE = {"accepted": 0, "scheduled": 0, "queued": 0, "receiving": 0, "received": 1, "sending": 1, "sent": 2}


@dataclass(frozen=True, slots=True)
class Step:
    status: str
    at: datetime | None
    source: str


def history(message: Row[Any], webhooks: list[dict[str, Any]]) -> list[Step]:
    """The statuses the message went through, as far as Loft records them.

    Loft keeps no status table: the steps come from the message's own dates and from the status callbacks
    sent for it (each carries the status it announced, when the message has a callback URL).
    """
    first = "receiving" if message.status == "receiving" else "received" if message.direction == "inbound" else "queued"
    steps = [Step(first, dates.as_utc(message.date_created), "created")]
    seen = {first}
    for attempt in webhooks:
        status = attempt["request_params"].get("MessageStatus")
        if attempt["kind"] == attempts.STATUS_CALLBACK and status and status not in seen:
            at = dates.parse_filter(attempt["date_created"] or "")
            steps.append(Step(status, at.start if at else None, "status callback"))
            seen.add(status)
    outbound = message.direction != "inbound"
    if outbound and message.date_sent is not None and "sent" not in seen and message.status not in ("queued", "failed"):
        steps.append(Step("sent", dates.as_utc(message.date_sent), "date sent"))
        seen.add("sent")
    if message.status not in seen:
        steps.append(Step(message.status, dates.as_utc(message.date_updated), "current status"))
    # Callbacks run as separate jobs and may be recorded out of order: show them in lifecycle order.
    return sorted(steps, key=lambda step: _STAGE.get(step.status, 3))


async def show(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.read() as conn:
        row = await service.get(conn, visit.account, sid)
        media, _ = await service.media_page(conn, row, {}, paging.PageRequest(paging.MAX_SIZE, 0, None))
        webhooks = await attempts.for_message(conn, row.sid)
        deliveries = await delivery_attempts.for_message(conn, row.sid)
    return visit.render("message.html", message=row, media=media, webhooks=webhooks, deliveries=deliveries,
                        history=history(row, webhooks))


routes = [
    Route("/console/messages", web.page(list_messages), methods=["GET"]),
    Route("/console/messages/log.json", web.page(log_json, poll=True), methods=["GET"]),
    Route("/console/messages/{sid}", web.page(show), methods=["GET"]),
]
