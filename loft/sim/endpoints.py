"""``/sim/v1/Handsets`` and ``/sim/v1/Clock`` — the simulator API (Loft's own; same Basic auth as the 2010-04-01
API).

- ``POST /sim/v1/Handsets/{PhoneNumber}/Messages`` (``To``, ``Body``, ``MediaUrl``…): the handset texts Loft.
- ``GET /sim/v1/Handsets/{PhoneNumber}/Messages``: what the handset received, newest first.
- ``POST /sim/v1/Handsets/{PhoneNumber}/Messages/{MessageSid}/Read``: the handset reads an RCS message it
  received (``delivered`` → ``read``, with its status callback).
- ``POST /sim/v1/Handsets/{PhoneNumber}`` (``Behavior``, ``ReceiptDelayMs``): how its carrier answers the
  caller's sends (and its subaccounts'); ``GET`` shows what applies to the caller's sends.
- ``POST /sim/v1/Clock`` (``AdvanceSeconds``): move Loft's clock ahead, for the whole deployment (the main
  account's auth token only); ``GET`` reads it (any credentials). See :mod:`loft.sim.clock`.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.db.tables import accounts
from loft.errors import InvalidParameter, PermissionDenied
from loft.kit import dates, endpoint, forms, render
from loft.kit.endpoint import Answer, Call
from loft.messages import service as messages
from loft.sim import clock, service


async def _reachable(call: Call) -> list[str]:
    """The accounts whose numbers and inboxes the request's credential reaches: its account and that account's
    subaccounts with the auth token, the key's own account with an API key (as for the 2010-04-01 API)."""
    if auth.credential_in(call.request).key_sid is not None:
        return [call.account.sid]
    children = await call.conn.execute(select(accounts.c.sid).where(accounts.c.parent_sid == call.account.sid))
    return [call.account.sid, *children.scalars()]


def _handset(call: Call) -> str:
    """The handset of the path (400 for a number that is not one)."""
    return service.handset_number(call.path_params["phone_number"])


async def send_from_handset(call: Call) -> Answer:
    row = await service.text_loft(call.conn, call.loft.settings, _handset(call), call.params,
                                  reachable=await _reachable(call))
    return render.Json(messages.render(row), 201)


async def handset_inbox(call: Call) -> Answer:
    return render.Json({"messages": await service.inbox(call.conn, _handset(call), await _reachable(call))})


async def read_message(call: Call) -> Answer:
    row = await service.read(call.conn, _handset(call), call.path_params["message_sid"],
                             reachable=await _reachable(call))
    return render.Json(messages.render(row))


async def configure_handset(call: Call) -> Answer:
    return render.Json(await service.configure(call.conn, call.account, _handset(call), call.params))


async def fetch_handset(call: Call) -> Answer:
    return render.Json(await service.settings_of(call.conn, call.account, _handset(call)))


async def read_clock(request: Request) -> Response:
    await auth.principal(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        ahead = await clock.offset(conn)
    dates.move_ahead(ahead)  # the database's word is the latest (this process may not have read it yet)
    return render.json_response(clock.reading(), 200)


async def advance_clock(request: Request) -> Response:
    """Move the deployment's clock ahead: the main account's auth token only (403, 20003, for a subaccount's or any
    API key: the clock is every account's)."""
    credential = await auth.credential_of(request)
    if credential.key_sid is not None or not credential.account.is_main:
        raise PermissionDenied("Only the main account's auth token may move the simulator's clock")
    form = await forms.read(request)
    seconds = forms.integer(form, "AdvanceSeconds", low=1, high=clock.MAX_ADVANCE)
    if seconds is None:
        raise InvalidParameter(20001, "The 'AdvanceSeconds' parameter is required: how many seconds to move the "
                                      "clock ahead")
    loft = context.of(request)
    async with loft.db.write() as conn:
        ahead = await clock.advance(conn, seconds)
    dates.move_ahead(ahead)
    loft.wake()  # jobs may have fallen due (the other processes' wake up once they have read the clock)
    await asyncio.sleep(clock.SETTLE_SECONDS)  # so has every process once this answers (see loft.sim.clock)
    return render.json_response(clock.reading(), 200)


_BASE = "/sim/v1/Handsets/{phone_number}"
routes = [
    endpoint.route(_BASE + "/Messages", send_from_handset, method="POST", who=auth.principal, wakes=True),
    endpoint.route(_BASE + "/Messages", handset_inbox, who=auth.principal),
    endpoint.route(_BASE + "/Messages/{message_sid}/Read", read_message, method="POST", who=auth.principal,
                   wakes=True),
    endpoint.route(_BASE, configure_handset, method="POST", who=auth.principal),
    endpoint.route(_BASE, fetch_handset, who=auth.principal),
    Route("/sim/v1/Clock", advance_clock, methods=["POST"]),
    Route("/sim/v1/Clock", read_clock, methods=["GET"]),
]
