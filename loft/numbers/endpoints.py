"""``/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers`` (also by kind: ``/Local``, ``/Mobile``,
``/TollFree``) and ``/AvailablePhoneNumbers`` (the countries, and the search of each kind)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.errors import NotFound
from loft.kit import endpoint, forms, paging, render
from loft.kit.endpoint import Answer, Call
from loft.numbers import available, catalogue, service

_BASE = "/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers"
_AVAILABLE = "/2010-04-01/Accounts/{account_sid}/AvailablePhoneNumbers"
#: The kinds IncomingPhoneNumbers can be bought and listed by.
_INCOMING_KINDS = ("Local", "Mobile", "TollFree")
_FILTERS = ("Beta", "FriendlyName", "PhoneNumber", "Origin")


async def create_number(request: Request) -> Response:
    return await _buy(request, None)


async def list_numbers(request: Request) -> Response:
    return await _list(request, None)


def _rendered(row: Any, kind: catalogue.Kind | None) -> dict[str, Any]:
    """A number as Twilio shows it; the schemas of the three typed lists have no ``type`` field (the kind is
    in the path)."""
    data = service.render(row)
    return data if kind is None else {key: value for key, value in data.items() if key != "type"}


async def _buy(request: Request, kind: catalogue.Kind | None) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.buy(conn, account, form, kind=kind)
    return render.resource(request, _rendered(row, kind), xml_tag="IncomingPhoneNumber", status=201)


async def _list(request: Request, kind: catalogue.Kind | None) -> Response:
    account = await auth.account_in_path(request)
    query = request.query_params
    page_request = paging.parse(query)
    loft = context.of(request)
    async with loft.db.read() as conn:
        rows, more = await service.page(conn, account, query, page_request,
                                        number_type=kind.stored if kind else None)
    envelope = paging.envelope(
        key="incoming_phone_numbers",
        records=[_rendered(row, kind) for row in rows],
        path=f"/2010-04-01/Accounts/{account.sid}/IncomingPhoneNumbers{'/' + kind.name if kind else ''}.json",
        filters=[(name, query[name]) for name in _FILTERS if name in query],
        request=page_request,
        has_next=more,
    )
    return render.page(
        request, envelope, key="incoming_phone_numbers",
        xml_list_tag="IncomingPhoneNumbers", xml_item_tag="IncomingPhoneNumber",
    )


async def fetch_number(call: Call) -> Answer:
    row = await service.get(call.conn, call.account, call.path_params["sid"])
    return render.Resource(service.render(row), xml_tag="IncomingPhoneNumber")


async def update_number(request: Request) -> Response:
    """Not through :func:`loft.kit.endpoint.route`: a move authorizes a second account (the new owner, which the
    credential must reach as well as the path's), and does so before the write transaction begins."""
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    new_owner = None
    if form.get("AccountSid") and form["AccountSid"] != account.sid:
        # Moving a number: the credential must reach both accounts (a parent moves numbers between itself
        # and its subaccounts, or between two subaccounts).
        new_owner = await auth.reach(request, auth.credential_in(request), form["AccountSid"])
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.configure(conn, account, request.path_params["sid"], form, new_owner=new_owner)
    return render.resource(request, service.render(row), xml_tag="IncomingPhoneNumber")


async def delete_number(call: Call) -> Answer:
    await service.release(call.conn, call.account, call.path_params["sid"])
    return render.NoContent()


def _kind_endpoints(kind: catalogue.Kind) -> tuple[Callable[[Request], Awaitable[Response]],
                                                      Callable[[Request], Awaitable[Response]]]:
    """``POST`` and ``GET …/IncomingPhoneNumbers/{Kind}``: buy a number of that kind, list the ones owned."""

    async def create(request: Request) -> Response:
        return await _buy(request, kind)

    async def list_kind(request: Request) -> Response:
        return await _list(request, kind)

    return create, list_kind


async def list_countries(request: Request) -> Response:
    account = await auth.account_in_path(request)
    paging.parse(request.query_params)  # validated; the list is one page
    countries = [available.render_country(account.sid, country) for country in catalogue.COUNTRIES]
    uri = f"/2010-04-01/Accounts/{account.sid}/AvailablePhoneNumbers.json"
    return render.unpaged(request, key="countries", records=countries, uri=uri, xml_list_tag="Countries",
                    xml_item_tag="Country")


async def fetch_country(request: Request) -> Response:
    account = await auth.account_in_path(request)
    country = _country(request)
    return render.resource(request, available.render_country(account.sid, country), xml_tag="Country")


async def search_available(request: Request) -> Response:
    """``GET …/AvailablePhoneNumbers/{CountryCode}/{Kind}``: numbers for sale, never one somebody owns."""
    account = await auth.account_in_path(request)
    country = _country(request)
    kind = catalogue.KINDS.get(request.path_params["kind"])
    if kind is None or kind not in catalogue.kinds_of(country):
        raise NotFound()
    criteria = available.criteria_from(request.query_params, country)
    loft = context.of(request)
    async with loft.db.read() as conn:
        offers = await available.search(conn, country, kind, criteria)
    xml = render.format_of(request) == "xml"
    query = request.url.query
    uri = f"/2010-04-01/Accounts/{account.sid}/AvailablePhoneNumbers/{country}/{kind.name}.json"
    return render.unpaged(request, key="available_phone_numbers",
                    records=[available.render(offer, xml=xml) for offer in offers],
                    uri=f"{uri}?{query}" if query else uri,
                    xml_list_tag="AvailablePhoneNumbers", xml_item_tag="AvailablePhoneNumber")


def _country(request: Request) -> str:
    country = str(request.path_params["country_code"])
    if country not in catalogue.COUNTRIES:
        raise NotFound()
    return country


_kind_routes = [
    Route(f"{_BASE}/{name}", endpoint, methods=[method])
    for name in _INCOMING_KINDS
    for method, endpoint in zip(("POST", "GET"), _kind_endpoints(catalogue.KINDS[name]), strict=True)
]

routes = [
    Route(_AVAILABLE, list_countries, methods=["GET"]),
    Route(_AVAILABLE + "/{country_code}", fetch_country, methods=["GET"]),
    Route(_AVAILABLE + "/{country_code}/{kind}", search_available, methods=["GET"]),
    *_kind_routes,  # before "/{sid}", which would take "Local" for a sid
    Route(_BASE, list_numbers, methods=["GET"]),
    Route(_BASE, create_number, methods=["POST"]),
    endpoint.route(_BASE + "/{sid}", fetch_number),
    Route(_BASE + "/{sid}", update_number, methods=["POST"]),
    endpoint.route(_BASE + "/{sid}", delete_number, method="DELETE"),
]
