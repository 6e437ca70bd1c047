"""The messaging v1 API on Loft's host: ``/v1/Services`` (the SDK's ``client.messaging``), their sender pools
(``PhoneNumbers``, ``ShortCodes``, ``AlphaSenders``, ``DestinationAlphaSenders``, ``ChannelSenders``) and
``/v1/Services/Usecases``. v1 paths name no account: a request acts for its credential's own account."""

from __future__ import annotations

from starlette.routing import Route

from loft.accounts import auth
from loft.kit import endpoint, paging, render, v1
from loft.kit.endpoint import Answer, Call
from loft.messaging_services import pool, service, usecases

_SERVICES = "/v1/Services"
_SERVICE = _SERVICES + "/{service_sid}"


async def create_service(call: Call) -> Answer:
    created = await service.create(call.conn, call.account, service.changes_from(call.params, creating=True))
    return v1.Resource(service.render(created, call.origin), status=201)


async def list_services(call: Call) -> Answer:
    request = paging.parse(call.params)
    found, more = await service.page(call.conn, call.account, request)
    return v1.page(key="services", records=[service.render(each, call.origin) for each in found],
                   origin=call.origin, path=_SERVICES, filters=[], request=request, has_next=more)


async def fetch_service(call: Call) -> Answer:
    found = await service.get(call.conn, call.account.sid, call.path_params["service_sid"])
    return v1.Resource(service.render(found, call.origin))


async def update_service(call: Call) -> Answer:
    changed = await service.change(call.conn, call.account, call.path_params["service_sid"],
                                   service.changes_from(call.params, creating=False))
    return v1.Resource(service.render(changed, call.origin))


async def delete_service(call: Call) -> Answer:
    await service.remove(call.conn, call.account, call.path_params["service_sid"])
    return render.NoContent()


async def fetch_usecases(call: Call) -> Answer:
    return v1.Resource(usecases.render())


async def add_phone_number(call: Call) -> Answer:
    added, new = await pool.add_number(call.conn, call.account, call.path_params["service_sid"],
                                       call.params.get("PhoneNumberSid", ""))
    return v1.Resource(pool.render(added, call.origin), status=201 if new else 200)


async def add_short_code(call: Call) -> Answer:
    added = await pool.add_short_code(call.conn, call.account, call.path_params["service_sid"],
                                      call.params.get("ShortCodeSid", ""))
    return v1.Resource(pool.render(added, call.origin), status=201)


async def add_alpha_sender(call: Call) -> Answer:
    added = await pool.add_alpha_sender(call.conn, call.account, call.path_params["service_sid"],
                                        call.params.get("AlphaSender", ""))
    return v1.Resource(pool.render(added, call.origin), status=201)


async def add_destination_alpha_sender(call: Call) -> Answer:
    added = await pool.add_destination_alpha_sender(call.conn, call.account, call.path_params["service_sid"],
                                                    call.params.get("AlphaSender", ""),
                                                    call.params.get("IsoCountryCode"))
    return v1.Resource(pool.render(added, call.origin), status=201)


async def add_channel_sender(call: Call) -> Answer:
    added = await pool.add_channel_sender(call.conn, call.account, call.path_params["service_sid"],
                                          call.params.get("Sid", ""))
    return v1.Resource(pool.render(added, call.origin), status=201)


def _pool_routes(kind: pool.Kind, add: endpoint.Work, *, filters: tuple[str, ...] = ()) -> list[Route]:
    """``POST`` (``add``) and ``GET`` of one of a pool's collections, and ``GET``, ``DELETE`` of its members."""
    collection = pool.COLLECTIONS[kind]
    base = f"{_SERVICE}/{collection.path}"

    async def list_kind(call: Call) -> Answer:
        request = paging.parse(call.params)
        service_sid = call.path_params["service_sid"]
        given = [(name, call.params[name]) for name in filters if call.params.get(name)]
        found, more = await pool.page(call.conn, call.account, service_sid, kind, request,
                                      country=dict(given).get("IsoCountryCode"))
        return v1.page(key=collection.key, records=[pool.render(each, call.origin) for each in found],
                       origin=call.origin, path=f"{_SERVICES}/{service_sid}/{collection.path}", filters=given,
                       request=request, has_next=more)

    async def fetch_kind(call: Call) -> Answer:
        found = await pool.get(call.conn, call.account, call.path_params["service_sid"], kind, call.path_params["sid"])
        return v1.Resource(pool.render(found, call.origin))

    async def delete_kind(call: Call) -> Answer:
        await pool.remove(call.conn, call.account, call.path_params["service_sid"], kind, call.path_params["sid"])
        return render.NoContent()

    for work, name in ((list_kind, "list"), (fetch_kind, "fetch"), (delete_kind, "delete")):
        work.__name__ = f"{name}_{kind}s"
    return [
        endpoint.route(base, list_kind, who=auth.principal),
        endpoint.route(base, add, method="POST", who=auth.principal),
        endpoint.route(base + "/{sid}", fetch_kind, who=auth.principal),
        endpoint.route(base + "/{sid}", delete_kind, method="DELETE", who=auth.principal),
    ]


routes = [
    endpoint.route(_SERVICES + "/Usecases", fetch_usecases, who=auth.principal),  # before "/{service_sid}"
    endpoint.route(_SERVICES, list_services, who=auth.principal),
    endpoint.route(_SERVICES, create_service, method="POST", who=auth.principal),
    endpoint.route(_SERVICE, fetch_service, who=auth.principal),
    endpoint.route(_SERVICE, update_service, method="POST", who=auth.principal),
    endpoint.route(_SERVICE, delete_service, method="DELETE", who=auth.principal),
    *_pool_routes("phone_number", add_phone_number),
    *_pool_routes("short_code", add_short_code),
    *_pool_routes("alpha_sender", add_alpha_sender),
    *_pool_routes("destination_alpha_sender", add_destination_alpha_sender, filters=("IsoCountryCode",)),
    *_pool_routes("channel_sender", add_channel_sender),
]
