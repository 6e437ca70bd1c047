"""The virtual phone: be a handset, text one of the account's Loft numbers, and watch the replies arrive.

Sending goes through the simulator's service (``loft.sim.service.text_loft``), exactly like
``POST /sim/v1/Handsets/{PhoneNumber}/Messages``; the page polls ``/console/phone/thread.json`` for the
thread, so replies appear without a reload.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from starlette.datastructures import MultiDict
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loft.console import queries, web
from loft.console.web import Visit
from loft.errors import InvalidParameter
from loft.kit import paging
from loft.numbers import service as numbers
from loft.sim import service as sim


def new_handset() -> str:
    """A fictional North American number (555-01XX exchanges are reserved for fiction)."""
    return f"+1555010{secrets.randbelow(10_000):04d}"


def _handset(text: str) -> str:
    return sim.handset_number(text) if text.strip() else ""


async def show(visit: Visit) -> Response:
    if visit.query.get("new"):
        return web.redirect(visit.request, "/console/phone?" + urlencode(
            {"handset": new_handset(), "number": visit.query.get("number") or ""}))
    async with visit.loft.db.read() as conn:
        owned, _ = await numbers.page(conn, visit.account, {}, paging.PageRequest(paging.MAX_SIZE, 0, None))
        known = await queries.handsets(conn, visit.account.sid)
        handset_error = None
        try:
            handset = _handset(visit.query.get("handset") or "")
        except InvalidParameter as error:
            handset, handset_error = "", error.message
        loft_numbers = [row.phone_number for row in owned]
        number = visit.query.get("number") or ""
        number = number if number in loft_numbers else (loft_numbers[0] if loft_numbers else "")
        bubbles = await queries.thread(conn, visit.account.sid, handset, number) if handset and number else []
    if handset and handset not in known:
        known.insert(0, handset)
    return visit.render("phone.html", handset=handset, number=number, loft_numbers=loft_numbers,
                        handsets=known, bubbles=bubbles, handset_error=handset_error)


async def thread(visit: Visit) -> Response:
    handset = _handset(visit.query.get("handset") or "")
    number = visit.query.get("number") or ""
    async with visit.loft.db.read() as conn:
        bubbles = await queries.thread(conn, visit.account.sid, handset, number) if handset and number else []
    return JSONResponse({"messages": [bubble.json() for bubble in bubbles]}, headers=web.SECURITY_HEADERS)


async def send(visit: Visit) -> Response:
    handset = sim.handset_number(visit.form.get("handset") or "")
    number = visit.form.get("number") or ""
    text = MultiDict([("To", number), ("Body", visit.form.get("body") or "")]
                     + [("MediaUrl", url.strip()) for url in (visit.form.get("media_urls") or "").split()])
    async with visit.loft.db.write() as conn:
        row = await sim.text_loft(conn, visit.loft.settings, handset, text, reachable=[visit.account.sid])
    visit.loft.wake()
    if "application/json" in visit.request.headers.get("accept", ""):
        return JSONResponse({"sid": row.sid, "status": row.status}, status_code=201, headers=web.SECURITY_HEADERS)
    return web.redirect(visit.request, "/console/phone?" + urlencode({"handset": handset, "number": number}))


routes = [
    Route("/console/phone", web.page(show), methods=["GET"]),
    Route("/console/phone/thread.json", web.page(thread, poll=True), methods=["GET"]),
    Route("/console/phone/send", web.action(send), methods=["POST"]),
]
