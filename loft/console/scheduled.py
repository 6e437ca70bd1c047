"""Scheduled messages: the account's messages waiting for their ``SendAt`` (the soonest first), each with a button
that cancels it as the API's ``Status=canceled`` does (:func:`loft.messages.service.redact_or_cancel`: only a
``scheduled`` message can be, else 30409)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from loft.console import queries, web
from loft.console.web import Visit
from loft.kit import paging
from loft.messages import service as messages
from loft.messaging_services import service as services


async def list_scheduled(visit: Visit) -> Response:
    try:
        number = min(max(int(visit.query.get("page") or 0), 0), paging.last_page(queries.PAGE_SIZE))
    except ValueError:
        number = 0
    async with visit.loft.db.read() as conn:
        rows, more = await queries.scheduled(conn, visit.account.sid, number)
        named, _ = await services.page(conn, visit.account, paging.PageRequest(paging.MAX_SIZE, 0, None))
    return visit.render("scheduled.html", rows=rows, services={each.sid: each.friendly_name for each in named},
                        previous=f"?page={number - 1}" if number > 0 else None,
                        next=f"?page={number + 1}" if more else None)


async def cancel(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await messages.redact_or_cancel(conn, visit.account, sid, status="canceled")
    return web.redirect(visit.request, web.came_from(visit.request),
                        notice=f"Canceled the message to {row.to_addr} ({row.sid}): it will not be sent.")


routes = [
    Route("/console/messages/scheduled", web.page(list_scheduled), methods=["GET"]),
    Route("/console/messages/{sid}/cancel", web.action(cancel), methods=["POST"]),
]
