"""``/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.kit import forms, paging, render
from loft.numbers import service

_BASE = "/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers"
_FILTERS = ("Beta", "FriendlyName", "PhoneNumber", "Origin")


async def create_number(request: Request) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.buy(conn, account, form)
    return render.resource(request, service.render(row), xml_tag="IncomingPhoneNumber", status=201)


async def list_numbers(request: Request) -> Response:
    account = await auth.account_in_path(request)
    query = request.query_params
    page_request = paging.parse(query)
    loft = context.of(request)
    async with loft.db.read() as conn:
        rows, more = await service.page(conn, account, query, page_request)
    envelope = paging.envelope(
        key="incoming_phone_numbers",
        records=[service.render(row) for row in rows],
        path=f"/2010-04-01/Accounts/{account.sid}/IncomingPhoneNumbers.json",
        filters=[(name, query[name]) for name in _FILTERS if name in query],
        request=page_request,
        has_next=more,
    )
    return render.page(
        request, envelope, key="incoming_phone_numbers",
        xml_list_tag="IncomingPhoneNumbers", xml_item_tag="IncomingPhoneNumber",
    )


async def fetch_number(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        row = await service.get(conn, account, request.path_params["sid"], path=render.requested_path(request))
    return render.resource(request, service.render(row), xml_tag="IncomingPhoneNumber")


async def update_number(request: Request) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    new_owner = None
    if form.get("AccountSid") and form["AccountSid"] != account.sid:
        # Moving a number: the credential must reach both accounts (a parent moves numbers between itself
        # and its subaccounts, or between two subaccounts).
        new_owner = await auth.reach(request, request.state.principal, form["AccountSid"])
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.configure(conn, account, request.path_params["sid"], form,
                                      path=render.requested_path(request), new_owner=new_owner)
    return render.resource(request, service.render(row), xml_tag="IncomingPhoneNumber")


async def delete_number(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        await service.release(conn, account, request.path_params["sid"], path=render.requested_path(request))
    return render.no_content()


routes = [
    Route(_BASE, list_numbers, methods=["GET"]),
    Route(_BASE, create_number, methods=["POST"]),
    Route(_BASE + "/{sid}", fetch_number, methods=["GET"]),
    Route(_BASE + "/{sid}", update_number, methods=["POST"]),
    Route(_BASE + "/{sid}", delete_number, methods=["DELETE"]),
]
