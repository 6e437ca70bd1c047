"""``/2010-04-01/Accounts/{AccountSid}/Applications``."""

from __future__ import annotations

from loft.applications import service
from loft.kit import endpoint, paging, render
from loft.kit.endpoint import Answer, Call

_BASE = "/2010-04-01/Accounts/{account_sid}/Applications"


def _resource(data: dict[str, object], status: int = 200) -> render.Resource:
    return render.Resource(data, xml_tag="Application", status=status)


async def create_application(call: Call) -> Answer:
    row = await service.create(call.conn, call.account, call.params)
    return _resource(service.render(row), status=201)


async def list_applications(call: Call) -> Answer:
    page_request = paging.parse(call.params)
    rows, more = await service.page(call.conn, call.account, call.params, page_request)
    envelope = paging.envelope(
        key="applications",
        records=[service.render(row) for row in rows],
        path=f"/2010-04-01/Accounts/{call.account.sid}/Applications.json",
        filters=[("FriendlyName", call.params["FriendlyName"])] if "FriendlyName" in call.params else [],
        request=page_request,
        has_next=more,
    )
    return render.Page(envelope, key="applications", xml_list_tag="Applications", xml_item_tag="Application")


async def fetch_application(call: Call) -> Answer:
    row = await service.get(call.conn, call.account, call.path_params["sid"])
    return _resource(service.render(row))


async def update_application(call: Call) -> Answer:
    row = await service.configure(call.conn, call.account, call.path_params["sid"], call.params)
    return _resource(service.render(row))


async def delete_application(call: Call) -> Answer:
    await service.remove(call.conn, call.account, call.path_params["sid"])
    return render.NoContent()


routes = [
    endpoint.route(_BASE, list_applications),
    endpoint.route(_BASE, create_application, method="POST"),
    endpoint.route(_BASE + "/{sid}", fetch_application),
    endpoint.route(_BASE + "/{sid}", update_application, method="POST"),
    endpoint.route(_BASE + "/{sid}", delete_application, method="DELETE"),
]
