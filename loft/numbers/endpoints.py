"""``/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers`` (also by kind: ``/Local``, ``/Mobile``,
``/TollFree``) and ``/AvailablePhoneNumbers`` (the countries, and the search of each kind)."""

from __future__ import annotations

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


def _rendered(row: Any, kind: catalogue.Kind | None) -> dict[str, Any]:
    """A number as Twilio shows it; the schemas of the three typed lists have no ``type`` field (the kind is
    in the path)."""
    data = service.render(row)
    return data if kind is None else {key: value for key, value in data.items() if key != "type"}


def _buy(kind: catalogue.Kind | None) -> endpoint.Work:
    """``POST …/IncomingPhoneNumbers`` (``kind`` ``None``) or ``…/IncomingPhoneNumbers/{Kind}``: buy a number."""

    async def create_number(call: Call) -> Answer:
        row = await service.buy(call.conn, call.account, call.params, kind=kind)
        return render.Resource(_rendered(row, kind), xml_tag="IncomingPhoneNumber", status=201)

    return create_number


def _list(kind: catalogue.Kind | None) -> endpoint.Work:
    """``GET …/IncomingPhoneNumbers`` (``kind`` ``None``) or ``…/IncomingPhoneNumbers/{Kind}``: the numbers owned."""

    async def list_numbers(call: Call) -> Answer:
        query = call.params
        page_request = paging.parse(query)
        rows, more = await service.page(call.conn, call.account, query, page_request,
                                        number_type=kind.stored if kind else None)
        envelope = paging.envelope(
            key="incoming_phone_numbers",
            records=[_rendered(row, kind) for row in rows],
            path=f"/2010-04-01/Accounts/{call.account.sid}/IncomingPhoneNumbers{'/' + kind.name if kind else ''}.json",
            filters=[(name, query[name]) for name in _FILTERS if name in query],
            request=page_request,
            has_next=more,
        )
        return render.Page(envelope, key="incoming_phone_numbers", xml_list_tag="IncomingPhoneNumbers",
                           xml_item_tag="IncomingPhoneNumber")

    return list_numbers


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


async def list_countries(call: Call) -> Answer:
    paging.parse(call.params)  # validated; the list is one page
    countries = [available.render_country(call.account.sid, country) for country in catalogue.COUNTRIES]
    return render.Unpaged(key="countries", records=countries,
                          uri=f"/2010-04-01/Accounts/{call.account.sid}/AvailablePhoneNumbers.json",
                          xml_list_tag="Countries", xml_item_tag="Country")


async def fetch_country(call: Call) -> Answer:
    return render.Resource(available.render_country(call.account.sid, _country(call.request)), xml_tag="Country")


async def search_available(call: Call) -> Answer:
    """``GET …/AvailablePhoneNumbers/{CountryCode}/{Kind}``: numbers for sale, never one somebody owns."""
    country = _country(call.request)
    kind = catalogue.KINDS.get(call.path_params["kind"])
    if kind is None or kind not in catalogue.kinds_of(country):
        raise NotFound()
    criteria = available.criteria_from(call.params, country)
    offers = await available.search(call.conn, country, kind, criteria)
    xml = render.format_of(call.request) == "xml"
    query = call.request.url.query
    uri = f"/2010-04-01/Accounts/{call.account.sid}/AvailablePhoneNumbers/{country}/{kind.name}.json"
    return render.Unpaged(key="available_phone_numbers", records=[available.render(offer, xml=xml) for offer in offers],
                          uri=f"{uri}?{query}" if query else uri,
                          xml_list_tag="AvailablePhoneNumbers", xml_item_tag="AvailablePhoneNumber")


def _country(request: Request) -> str:
    country = str(request.path_params["country_code"])
    if country not in catalogue.COUNTRIES:
        raise NotFound()
    return country


_kind_routes = [
    route
    for name in _INCOMING_KINDS
    for route in (endpoint.route(f"{_BASE}/{name}", _buy(catalogue.KINDS[name]), method="POST"),
                  endpoint.route(f"{_BASE}/{name}", _list(catalogue.KINDS[name])))
]

routes = [
    endpoint.route(_AVAILABLE, list_countries),
    endpoint.route(_AVAILABLE + "/{country_code}", fetch_country),
    endpoint.route(_AVAILABLE + "/{country_code}/{kind}", search_available),
    *_kind_routes,  # before "/{sid}", which would take "Local" for a sid
    endpoint.route(_BASE, _list(None)),
    endpoint.route(_BASE, _buy(None), method="POST"),
    endpoint.route(_BASE + "/{sid}", fetch_number),
    Route(_BASE + "/{sid}", update_number, methods=["POST"]),
    endpoint.route(_BASE + "/{sid}", delete_number, method="DELETE"),
]
