"""The messaging v2 Senders API on Loft's host (twilio-python's ``client.messaging.v2``, whose base URL points at
Loft): ``/v2/Channels/Senders``. Bodies are JSON (:mod:`loft.kit.jsonbody`); a create or an update is answered
``202`` as Twilio's (the sender's launch goes on after the answer); paths name no account: a request acts for its
credential's own account."""

from __future__ import annotations

from loft.accounts import auth
from loft.kit import endpoint, paging, render, v1
from loft.kit.endpoint import Answer, Call
from loft.senders import service

_SENDERS = "/v2/Channels/Senders"
_SENDER = _SENDERS + "/{sid}"


async def create_sender(call: Call) -> Answer:
    sender_id = service.sender_id_from(call.document)
    created = await service.create(call.conn, call.account, sender_id, service.changes_from(call.document))
    return v1.Resource(service.render(created, call.origin), status=202)


async def list_senders(call: Call) -> Answer:
    channel = service.channel(call.params)
    request = paging.parse(call.params)
    # Loft's senders are RCS ones: a WhatsApp list is empty.
    found, more = await service.page(call.conn, call.account, request) if channel == "rcs" else ([], False)
    return v1.page(key="senders", records=[service.render(each, call.origin) for each in found],
                   origin=call.origin, path=_SENDERS, filters=[("Channel", channel)], request=request,
                   has_next=more)


async def fetch_sender(call: Call) -> Answer:
    found = await service.get(call.conn, call.account.sid, call.path_params["sid"])
    return v1.Resource(service.render(found, call.origin))


async def update_sender(call: Call) -> Answer:
    changed = await service.change(call.conn, call.account, call.path_params["sid"],
                                   service.changes_from(call.document))
    return v1.Resource(service.render(changed, call.origin), status=202)


async def delete_sender(call: Call) -> Answer:
    await service.remove(call.conn, call.account, call.path_params["sid"])
    return render.NoContent()


routes = [
    endpoint.route(_SENDERS, list_senders, who=auth.principal),
    endpoint.route(_SENDERS, create_sender, method="POST", who=auth.principal, json=True),
    endpoint.route(_SENDER, fetch_sender, who=auth.principal),
    endpoint.route(_SENDER, update_sender, method="POST", who=auth.principal, json=True),
    endpoint.route(_SENDER, delete_sender, method="DELETE", who=auth.principal),
]
