"""``/2010-04-01/Accounts/{AccountSid}/Applications``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.applications import service
from loft.kit import forms, paging, render

_BASE = "/2010-04-01/Accounts/{account_sid}/Applications"


async def create_application(request: Request) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.create(conn, account, form)
    return render.resource(request, service.render(row), xml_tag="Application", status=201)


async def list_applications(request: Request) -> Response:
    account = await auth.account_in_path(request)
    query = request.query_params
    page_request = paging.parse(query)
    loft = context.of(request)
    async with loft.db.read() as conn:
        rows, more = await service.page(conn, account, query, page_request)
    envelope = paging.envelope(
        key="applications",
        records=[service.render(row) for row in rows],
        path=f"/2010-04-01/Accounts/{account.sid}/Applications.json",
        filters=[("FriendlyName", query["FriendlyName"])] if "FriendlyName" in query else [],
        request=page_request,
        has_next=more,
    )
    return render.page(request, envelope, key="applications", xml_list_tag="Applications",
                       xml_item_tag="Application")


async def fetch_application(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        row = await service.get(conn, account, request.path_params["sid"], path=render.requested_path(request))
    return render.resource(request, service.render(row), xml_tag="Application")


async def update_application(request: Request) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.configure(conn, account, request.path_params["sid"], form,
                                      path=render.requested_path(request))
    return render.resource(request, service.render(row), xml_tag="Application")


async def delete_application(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        await service.remove(conn, account, request.path_params["sid"], path=render.requested_path(request))
    return render.no_content()


routes = [
    Route(_BASE, list_applications, methods=["GET"]),
    Route(_BASE, create_application, methods=["POST"]),
    Route(_BASE + "/{sid}", fetch_application, methods=["GET"]),
    Route(_BASE + "/{sid}", update_application, methods=["POST"]),
    Route(_BASE + "/{sid}", delete_application, methods=["DELETE"]),
]
