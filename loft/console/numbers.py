"""Phone numbers: the account's numbers, search and buy, and messaging configuration (webhook or TwiML app; a
number's page says which Messaging Service's pool it is in, whose request URL may take its messages)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from loft.applications import service as applications
from loft.console import web
from loft.console.web import Visit
from loft.db.engine import Conn
from loft.errors import InvalidParameter, TwilioApiError
from loft.kit import paging
from loft.messaging_services import pool
from loft.messaging_services import service as services
from loft.numbers import available, catalogue, service

_OFFERS = 10
_ALL = paging.PageRequest(paging.MAX_SIZE, 0, None)


async def list_numbers(visit: Visit) -> Response:
    query = visit.query
    search = {"country": query.get("country") or "US", "kind": query.get("kind") or "Local",
              "area_code": (query.get("area_code") or "").strip(), "contains": (query.get("contains") or "").strip()}
    searched = "country" in query or "area_code" in query
    offers: list[available.Available] = []
    search_error = None
    async with visit.loft.db.read() as conn:
        rows, _ = await service.page(conn, visit.account, {}, _ALL)
        apps, _ = await applications.page(conn, visit.account, {}, _ALL)
        if searched:
            try:
                offers = await _search(conn, **search)
            except TwilioApiError as error:
                search_error = web.describe(error)
    names = {app.sid: app.friendly_name for app in apps}
    kinds = {country: [kind.name for kind in catalogue.kinds_of(country)] for country in catalogue.COUNTRIES}
    return visit.render("numbers.html", numbers=rows, app_names=names, search=search, searched=searched,
                        offers=offers, search_error=search_error, countries=catalogue.COUNTRIES, kinds=kinds)


async def _search(conn: Conn, *, country: str, kind: str, area_code: str, contains: str) -> list[available.Available]:
    """Numbers for sale, through the same search as ``GET …/AvailablePhoneNumbers/{Country}/{Kind}``."""
    wanted = catalogue.KINDS.get(kind)
    if country not in catalogue.COUNTRIES:
        raise InvalidParameter(20001, f"Loft sells no numbers in '{country}'")
    if wanted is None or wanted not in catalogue.kinds_of(country):
        raise InvalidParameter(20001, f"{catalogue.COUNTRIES[country]} has no {kind} numbers for sale")
    filters = {"AreaCode": area_code, "Contains": contains, "PageSize": str(_OFFERS)}
    criteria = available.criteria_from({name: value for name, value in filters.items() if value}, country)
    return await available.search(conn, country, wanted, criteria)


async def buy(visit: Visit) -> Response:
    wanted = {name: visit.form[name].strip() for name in ("PhoneNumber", "AreaCode", "FriendlyName")
              if (visit.form.get(name) or "").strip()}
    async with visit.loft.db.write() as conn:
        row = await service.buy(conn, visit.account, wanted)
    return web.redirect(visit.request, f"/console/numbers/{row.sid}",
                        notice=f"You bought {row.phone_number}. Configure what happens when it receives a message.")


async def show(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.read() as conn:
        row = await service.get(conn, visit.account, sid)
        apps, _ = await applications.page(conn, visit.account, {}, _ALL)
        pooled_in = await pool.service_of(conn, row.sid)
        in_service = await services.find(conn, visit.account.sid, pooled_in) if pooled_in else None
    return visit.render("number.html", number=row, apps=apps, in_service=in_service)


async def configure(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    form = visit.form
    mode = form.get("mode") or "webhook"
    if mode not in ("webhook", "app"):
        raise InvalidParameter(20001, "Choose a webhook or a TwiML app")
    changes = {name: form.get(name) or "" for name in ("FriendlyName", "SmsUrl", "SmsFallbackUrl", "StatusCallback")}
    changes |= {name: form.get(name) or "POST" for name in ("SmsMethod", "SmsFallbackMethod")}
    if not changes["FriendlyName"]:
        del changes["FriendlyName"]
    app_sid = (form.get("SmsApplicationSid") or "").strip() if mode == "app" else ""
    if mode == "app" and not app_sid:
        raise InvalidParameter(20001, "Choose the TwiML app that should handle this number's messages")
    changes["SmsApplicationSid"] = app_sid
    async with visit.loft.db.write() as conn:
        row = await service.configure(conn, visit.account, sid, changes)
    return web.redirect(visit.request, f"/console/numbers/{sid}", notice=f"Saved {row.phone_number}.")


async def release(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await service.get(conn, visit.account, sid)
        await service.release(conn, visit.account, sid)
    return web.redirect(visit.request, "/console/numbers", notice=f"Released {row.phone_number}.")


routes = [
    Route("/console/numbers", web.page(list_numbers), methods=["GET"]),
    Route("/console/numbers/buy", web.action(buy), methods=["POST"]),
    Route("/console/numbers/{sid}", web.page(show), methods=["GET"]),
    Route("/console/numbers/{sid}", web.action(configure), methods=["POST"]),
    Route("/console/numbers/{sid}/release", web.action(release), methods=["POST"]),
]
