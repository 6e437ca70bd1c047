"""Messaging Services: the account's services, creating one, a service's settings and webhooks, its sender pool
(add one of the account's numbers or an alphanumeric sender, remove a sender), and deleting it.

Every rule is the messaging v1 API's (``loft/messaging_services``): the forms post the API's parameter names, and
:func:`service.changes_from` and the :mod:`pool` functions check them, so a refusal here reads as the API's would
(21712: the number is in another service, 21714: the pool is full, a bad URL …).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.routing import Route

from loft.console import queries, web
from loft.console.web import Visit
from loft.errors import InvalidParameter
from loft.kit import paging
from loft.messaging_services import pool, service
from loft.numbers import service as numbers

_ALL = paging.PageRequest(paging.MAX_SIZE, 0, None)
_TEXTS = ("FriendlyName", "InboundRequestUrl", "FallbackUrl", "StatusCallback", "ValidityPeriod")
_METHODS = ("InboundMethod", "FallbackMethod")
#: The flags the console sets (the others keep Twilio's defaults; the API changes them).
FLAGS = ("StickySender", "AreaCodeGeomatch", "UseInboundWebhookOnNumber")
#: The pool's kinds the service's page lists, and how it names them.
SHOWN: dict[pool.Kind, str] = {"phone_number": "Phone number", "alpha_sender": "Alphanumeric sender",
                               "destination_alpha_sender": "Alphanumeric sender for one country",
                               "short_code": "Short code", "channel_sender": "Channel sender"}


def _settings(form: Mapping[str, str]) -> dict[str, str]:
    """The form's settings as the API's parameters: an unticked box is ``false``, an empty URL clears it."""
    values = [(name, (form.get(name) or "").strip()) for name in _TEXTS]
    values += [(name, form.get(name) or "POST") for name in _METHODS]
    values += [(name, "true" if form.get(name) else "false") for name in FLAGS]
    return dict(values)


async def list_services(visit: Visit) -> Response:
    async with visit.loft.db.read() as conn:
        rows, _ = await service.page(conn, visit.account, _ALL)
        pooled = await queries.pools_of(conn, visit.account.sid)
    sizes: dict[str, int] = {}
    for service_sid in pooled.values():
        sizes[service_sid] = sizes.get(service_sid, 0) + 1
    return visit.render("services.html", services=rows, sizes=sizes, defaults=service.DEFAULTS,
                        max_validity=service.MAX_VALIDITY)


async def create(visit: Visit) -> Response:
    async with visit.loft.db.write() as conn:
        row = await service.create(conn, visit.account, service.changes_from(_settings(visit.form), creating=True))
    return web.redirect(visit.request, f"/console/services/{row.sid}",
                        notice=f"Created the Messaging Service {row.friendly_name}. Add senders to its pool.")


async def show(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.read() as conn:
        row = await service.get(conn, visit.account.sid, sid)
        senders = [sender for kind in SHOWN
                   for sender in (await pool.page(conn, visit.account, sid, kind, _ALL))[0]]
        owned, _ = await numbers.page(conn, visit.account, {}, _ALL)
        pooled = await queries.pools_of(conn, visit.account.sid)
        others = {each.sid: each.friendly_name for each in (await service.page(conn, visit.account, _ALL))[0]}
    offered = [(number, others.get(pooled.get(number.sid, ""))) for number in owned if pooled.get(number.sid) != sid]
    return visit.render("service.html", service=row, senders=senders, kinds=SHOWN, offered=offered,
                        max_validity=service.MAX_VALIDITY)


async def edit(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await service.change(conn, visit.account, sid, service.changes_from(_settings(visit.form),
                                                                                  creating=False))
    return web.redirect(visit.request, f"/console/services/{sid}", notice=f"Saved {row.friendly_name}.")


async def add_number(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        added, new = await pool.add_number(conn, visit.account, sid, visit.form.get("PhoneNumberSid") or "")
    text = f"Added {added.address} to the pool." if new else f"{added.address} is in the pool already."
    return web.redirect(visit.request, f"/console/services/{sid}", notice=text)


async def add_alpha_sender(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    alpha = visit.form.get("AlphaSender") or ""
    country = visit.form.get("IsoCountryCode")
    async with visit.loft.db.write() as conn:
        if (country or "").strip():
            added = await pool.add_destination_alpha_sender(conn, visit.account, sid, alpha, country)
        else:
            added = await pool.add_alpha_sender(conn, visit.account, sid, alpha)
    return web.redirect(visit.request, f"/console/services/{sid}",
                        notice=f"Added the alphanumeric sender {added.address} to the pool.")


async def remove_sender(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    kind = visit.form.get("kind") or ""
    if kind not in SHOWN:
        raise InvalidParameter(20001, f"'{kind}' is not a kind of sender")
    async with visit.loft.db.write() as conn:
        sender = await pool.get(conn, visit.account, sid, kind, visit.path_params["sender_sid"])
        await pool.remove(conn, visit.account, sid, kind, sender.sid)
    return web.redirect(visit.request, f"/console/services/{sid}",
                        notice=f"Removed {sender.address} from the pool.")


async def delete(visit: Visit) -> Response:
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await service.get(conn, visit.account.sid, sid)
        await service.remove(conn, visit.account, sid)
    return web.redirect(visit.request, "/console/services",
                        notice=f"Deleted the Messaging Service {row.friendly_name}; its senders are free again.")


routes = [
    Route("/console/services", web.page(list_services), methods=["GET"]),
    Route("/console/services", web.action(create), methods=["POST"]),
    Route("/console/services/{sid}", web.page(show), methods=["GET"]),
    Route("/console/services/{sid}", web.action(edit), methods=["POST"]),
    Route("/console/services/{sid}/numbers", web.action(add_number), methods=["POST"]),
    Route("/console/services/{sid}/alpha-senders", web.action(add_alpha_sender), methods=["POST"]),
    Route("/console/services/{sid}/senders/{sender_sid}/remove", web.action(remove_sender), methods=["POST"]),
    Route("/console/services/{sid}/delete", web.action(delete), methods=["POST"]),
]
