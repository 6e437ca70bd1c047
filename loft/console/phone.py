"""The virtual phone: be a handset, text one of the account's Loft numbers or RCS senders, and watch the replies
arrive.

Sending goes through the simulator's service (``loft.sim.service.text_loft``), exactly like
``POST /sim/v1/Handsets/{PhoneNumber}/Messages``; the page polls ``/console/phone/thread.json`` for the
thread, so replies appear without a reload.

RCS: the other end may be one of the account's ``ONLINE`` RCS senders (``rcs:<agent>``). Its messages show their
rich content (cards, carousels, quick replies …, rendered by ``phone.html`` and ``console.js`` from the thread's
``content``), and tapping a quick reply sends the tap as the simulator's API does (``ButtonPayload``, the action's
id, and ``ButtonText``, its title). Only an RCS handset reaches an RCS sender (the simulator answers 63106
otherwise): the page says so and offers to turn RCS on, as ``POST /sim/v1/Handsets/{PhoneNumber}`` with
``Rcs=true`` does. Like a phone, the page sends a read receipt for each RCS message it has shown while visible
(:func:`read`; without the script, nothing is read).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from loft.console import queries, web
from loft.console.web import Visit
from loft.delivery import lifecycle
from loft.errors import InvalidParameter, NotFound
from loft.kit import paging, phone
from loft.kit.forms import Form
from loft.numbers import service as numbers
from loft.sim import service as sim


def new_handset() -> str:
    """A fictional North American number (555-01XX exchanges are reserved for fiction)."""
    return f"+1555010{secrets.randbelow(10_000):04d}"


def _handset(text: str) -> str:
    return sim.handset_number(text) if text.strip() else ""


def is_rcs(peer: str) -> bool:
    """Whether the other end of a thread is an RCS sender (``rcs:<agent>``) rather than a Loft number."""
    return peer.startswith(phone.RCS_PREFIX)


def _thread_url(handset: str, peer: str) -> str:
    return "/console/phone?" + urlencode({"handset": handset, "number": peer})


async def show(visit: Visit) -> Response:
    if visit.query.get("new"):
        return web.redirect(visit.request, "/console/phone?" + urlencode(
            {"handset": new_handset(), "number": visit.query.get("number") or ""}))
    async with visit.loft.db.read() as conn:
        owned, _ = await numbers.page(conn, visit.account, {}, paging.PageRequest(paging.MAX_SIZE, 0, None))
        agents = await queries.rcs_senders(conn, visit.account.sid)
        known = await queries.handsets(conn, visit.account.sid)
        handset_error = None
        try:
            handset = _handset(visit.query.get("handset") or "")
        except InvalidParameter as error:
            handset, handset_error = "", error.message
        loft_numbers = [row.phone_number for row in owned]
        peers = loft_numbers + agents
        number = visit.query.get("number") or ""
        number = number if number in peers else (peers[0] if peers else "")
        bubbles = await queries.thread(conn, visit.account.sid, handset, number) if handset and number else []
        # An RCS sender answers a handset without RCS 63106: say so before the person tries.
        rcs_off = bool(handset and is_rcs(number)) and not (await sim.settings_of(conn, visit.account, handset))["rcs"]
    if handset and handset not in known:
        known.insert(0, handset)
    return visit.render("phone.html", handset=handset, number=number, loft_numbers=loft_numbers, agents=agents,
                        rcs=is_rcs(number), rcs_off=rcs_off, handsets=known, bubbles=bubbles,
                        handset_error=handset_error)


async def thread(visit: Visit) -> Response:
    handset = _handset(visit.query.get("handset") or "")
    number = visit.query.get("number") or ""
    async with visit.loft.db.read() as conn:
        bubbles = await queries.thread(conn, visit.account.sid, handset, number) if handset and number else []
    return JSONResponse({"messages": [bubble.json() for bubble in bubbles]}, headers=web.SECURITY_HEADERS)


async def send(visit: Visit) -> Response:
    """The handset's text, or its tap on a button of an RCS message (``button_payload``, ``button_text``), as
    ``POST /sim/v1/Handsets/{PhoneNumber}/Messages`` takes them."""
    handset = sim.handset_number(visit.form.get("handset") or "")
    number = visit.form.get("number") or ""
    fields = [("To", number)]
    payload = visit.form.get("button_payload")
    if payload is not None:
        fields += [("ButtonPayload", payload), ("ButtonText", visit.form.get("button_text") or "")]
    else:
        fields += [("Body", visit.form.get("body") or "")]
        fields += [("MediaUrl", url.strip()) for url in (visit.form.get("media_urls") or "").split()]
    async with visit.loft.db.write() as conn:
        row = await sim.text_loft(conn, visit.loft.settings, handset, Form(fields), reachable=[visit.account.sid])
    visit.loft.wake()
    if "application/json" in visit.request.headers.get("accept", ""):
        return JSONResponse({"sid": row.sid, "status": row.status}, status_code=201, headers=web.SECURITY_HEADERS)
    return web.redirect(visit.request, _thread_url(handset, number))


#: The most messages one read receipt post reads (a thread shows at most 200 received).
MAX_READ = 200


async def read(visit: Visit) -> Response:
    """The handset has shown the RCS messages ``sid`` (repeated): each still ``delivered`` is read, with its
    status callback, as ``POST /sim/v1/Handsets/{PhoneNumber}/Messages/{MessageSid}/Read`` reads one. One that
    cannot be (not the handset's, not RCS, no longer delivered) is left as it is: the answer names those read."""
    handset = sim.handset_number(visit.form.get("handset") or "")
    done = []
    async with visit.loft.db.write() as conn:
        for sid in visit.form.getlist("sid")[:MAX_READ]:
            try:
                row = await sim.read(conn, handset, sid, reachable=[visit.account.sid])
            except (InvalidParameter, NotFound, lifecycle.Superseded):
                continue
            done.append(row.sid)
    visit.loft.wake()  # the status callbacks' jobs
    return JSONResponse({"read": done}, headers=web.SECURITY_HEADERS)


async def turn_rcs_on(visit: Visit) -> Response:
    """Make the handset RCS-capable for the account's sends, as ``POST /sim/v1/Handsets/{PhoneNumber}`` with
    ``Rcs=true`` does."""
    handset = sim.handset_number(visit.form.get("handset") or "")
    async with visit.loft.db.write() as conn:
        await sim.configure(conn, visit.account, handset, {"Rcs": "true"})
    return web.redirect(visit.request, _thread_url(handset, visit.form.get("number") or ""),
                        notice=f"The handset {handset} supports RCS now.")


routes = [
    Route("/console/phone", web.page(show), methods=["GET"]),
    Route("/console/phone/thread.json", web.page(thread, poll=True), methods=["GET"]),
    Route("/console/phone/send", web.action(send), methods=["POST"]),
    Route("/console/phone/rcs", web.action(turn_rcs_on), methods=["POST"]),
    Route("/console/phone/read", web.action(read), methods=["POST"]),
]
