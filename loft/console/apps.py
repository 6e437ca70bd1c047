"""TwiML apps: create, edit and delete (deleting one unlinks it from the numbers that used it)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.routing import Route

from loft.applications import service
from loft.console import web
from loft.console.web import Visit
from loft.kit import paging
from loft.numbers import service as numbers

_ALL = paging.PageRequest(paging.MAX_SIZE, 0, None)
_URLS = ("SmsUrl", "SmsFallbackUrl", "MessageStatusCallback", "VoiceUrl")
_METHODS = ("SmsMethod", "SmsFallbackMethod", "VoiceMethod")


def _settings(form: Mapping[str, str]) -> dict[str, str]:
    values = [(name, (form.get(name) or "").strip()) for name in _URLS]
    values += [(name, form.get(name) or "POST") for name in _METHODS]
    if (form.get("FriendlyName") or "").strip():
        values.append(("FriendlyName", form["FriendlyName"].strip()))
    return dict(values)


async def list_apps(visit: Visit) -> Response:
    async with visit.loft.db.read() as conn:
        rows, _ = await service.page(conn, visit.account, {}, _ALL)
        owned, _ = await numbers.page(conn, visit.account, {}, _ALL)
    used_by: dict[str, list[str]] = {}
    for number in owned:
        if number.sms_application_sid:
            used_by.setdefault(number.sms_application_sid, []).append(number.phone_number)
    return visit.render("apps.html", apps=rows, used_by=used_by)


async def create(visit: Visit) -> Response:
    async with visit.loft.db.write() as conn:
        row = await service.create(conn, visit.account, _settings(visit.form))
    return web.redirect(visit.request, "/console/apps", notice=f"Created the TwiML app {row.friendly_name}.")


async def show(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.read() as conn:
        row = await service.get(conn, visit.account, sid)
        owned, _ = await numbers.page(conn, visit.account, {}, _ALL)
    return visit.render("app.html", app=row, numbers=[n for n in owned if n.sms_application_sid == sid])


async def edit(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await service.configure(conn, visit.account, sid, _settings(visit.form))
    return web.redirect(visit.request, f"/console/apps/{sid}", notice=f"Saved {row.friendly_name}.")


async def delete(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await service.get(conn, visit.account, sid)
        await service.remove(conn, visit.account, sid)
    return web.redirect(visit.request, "/console/apps", notice=f"Deleted the TwiML app {row.friendly_name}.")


routes = [
    Route("/console/apps", web.page(list_apps), methods=["GET"]),
    Route("/console/apps", web.action(create), methods=["POST"]),
    Route("/console/apps/{sid}", web.page(show), methods=["GET"]),
    Route("/console/apps/{sid}", web.action(edit), methods=["POST"]),
    Route("/console/apps/{sid}/delete", web.action(delete), methods=["POST"]),
]
