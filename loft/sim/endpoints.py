"""``/sim/v1/Handsets`` — the simulator API (Loft's own; same Basic auth as the 2010-04-01 API).

- ``POST /sim/v1/Handsets/{PhoneNumber}/Messages`` (``To``, ``Body``, ``MediaUrl``…): the handset texts Loft.
- ``GET /sim/v1/Handsets/{PhoneNumber}/Messages``: what the handset received, newest first.
- ``POST /sim/v1/Handsets/{PhoneNumber}`` (``Behavior``, ``ReceiptDelayMs``): how its carrier answers the
  caller's sends (and its subaccounts'); ``GET`` shows what applies to the caller's sends.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.accounts.service import Account
from loft.db.tables import accounts
from loft.kit import forms, render
from loft.messages import service as messages
from loft.sim import service


async def _reachable(request: Request, who: Account) -> list[str]:
    """The accounts whose numbers and inboxes the request's credential reaches: its account and that account's
    subaccounts with the auth token, the key's own account with an API key (as for the 2010-04-01 API)."""
    if request.state.credential.key_sid is not None:
        return [who.sid]
    loft = context.of(request)
    async with loft.db.read() as conn:
        children = (await conn.execute(select(accounts.c.sid).where(accounts.c.parent_sid == who.sid))).scalars()
        return [who.sid, *children]


async def send_from_handset(request: Request) -> Response:
    who = await auth.principal(request)
    number = service.handset_number(request.path_params["phone_number"])
    form = await forms.read(request)
    reachable = await _reachable(request, who)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.text_loft(conn, loft.settings, number, form, reachable=reachable)
    loft.wake()
    return render.json_response(messages.render(row), 201)


async def handset_inbox(request: Request) -> Response:
    who = await auth.principal(request)
    number = service.handset_number(request.path_params["phone_number"])
    reachable = await _reachable(request, who)
    loft = context.of(request)
    async with loft.db.read() as conn:
        received = await service.inbox(conn, number, reachable)
    return render.json_response({"messages": received}, 200)


async def configure_handset(request: Request) -> Response:
    who = await auth.principal(request)
    number = service.handset_number(request.path_params["phone_number"])
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        settings = await service.configure(conn, who, number, form)
    return render.json_response(settings, 200)


async def fetch_handset(request: Request) -> Response:
    who = await auth.principal(request)
    number = service.handset_number(request.path_params["phone_number"])
    loft = context.of(request)
    async with loft.db.read() as conn:
        settings = await service.settings_of(conn, who, number)
    return render.json_response(settings, 200)


_BASE = "/sim/v1/Handsets/{phone_number}"
routes = [
    Route(_BASE + "/Messages", send_from_handset, methods=["POST"]),
    Route(_BASE + "/Messages", handset_inbox, methods=["GET"]),
    Route(_BASE, configure_handset, methods=["POST"]),
    Route(_BASE, fetch_handset, methods=["GET"]),
]
