"""``/2010-04-01/Accounts/{AccountSid}/Messages`` with its ``Media`` and ``Feedback`` subresources."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from loft import context
from loft.accounts import auth
from loft.delivery import attempts as delivery_attempts
from loft.delivery import send
from loft.errors import NotFound
from loft.kit import endpoint, forms, paging, render
from loft.kit.endpoint import Answer, Call
from loft.messages import media, service
from loft.webhooks import attempts

_BASE = "/2010-04-01/Accounts/{account_sid}/Messages"
_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


async def create_message(request: Request) -> Response:
    """``POST Messages``: routed by :class:`loft.app.CreateRoute`, not by the routes below."""
    account = await auth.account_in_path(request)
    form = await forms.read_once(request)  # (nothing else reads a create's body)
    new = service.check(account, form)
    loft = context.of(request)
    worker = loft.worker
    lease = worker.lease(new.to) if worker is not None else None
    created = await loft.db.submit_item(send.create_many,
                                        send.Creating(loft, service.Draft(account, new, loft.settings, lease)))
    if worker is not None and created.callbacks is not None:
        worker.take(created.callbacks)  # its status callbacks (its create sent it), for this process's worker
    if not created.handed_over:
        loft.wake()  # its job waits in the outbox
    return render.resource(request, service.render(created.message), xml_tag="Message", status=201)


async def list_messages(call: Call) -> Answer:
    query = call.params
    page_request = paging.parse(query)
    rows, more = await service.page(call.conn, call.account, query, page_request)
    envelope = paging.envelope(
        key="messages",
        records=[service.render(row) for row in rows],
        path=f"/2010-04-01/Accounts/{call.account.sid}/Messages.json",
        filters=[(name, query[name]) for name in _FILTERS if name in query],
        request=page_request,
        has_next=more,
    )
    return render.Page(envelope, key="messages", xml_list_tag="Messages", xml_item_tag="Message")


async def fetch_message(call: Call) -> Answer:
    row = await service.get(call.conn, call.account, call.path_params["sid"])
    return render.Resource(service.render(row), xml_tag="Message")


async def update_message(call: Call) -> Answer:
    row = await service.redact_or_cancel(call.conn, call.account, call.path_params["sid"],
                                         status=call.params.get("Status"), body=call.params.get("Body"))
    return render.Resource(service.render(row), xml_tag="Message")


async def delete_message(call: Call) -> Answer:
    await service.remove(call.conn, call.account, call.path_params["sid"])
    return render.NoContent()


async def list_media(call: Call) -> Answer:
    query = call.params
    page_request = paging.parse(query)
    message = await service.get(call.conn, call.account, call.path_params["message_sid"])
    rows, more = await service.media_page(call.conn, message, query, page_request)
    envelope = paging.envelope(
        key="media_list",
        records=[service.render_media(row) for row in rows],
        path=f"/2010-04-01/Accounts/{call.account.sid}/Messages/{message.sid}/Media.json",
        filters=[(name, query[name]) for name in ("DateCreated", "DateCreated<", "DateCreated>") if name in query],
        request=page_request,
        has_next=more,
    )
    return render.Page(envelope, key="media_list", xml_list_tag="MediaList", xml_item_tag="Media")


async def fetch_media(call: Call) -> Answer:
    """The Media resource (``.json``/``.xml``), or, as at Twilio, its content when the path has no suffix."""
    message = await service.get(call.conn, call.account, call.path_params["message_sid"])
    row = await service.media_item(call.conn, message, call.path_params["sid"])
    if render.requested_path(call.request).endswith((".json", ".xml")):
        return render.Resource(service.render_media(row), xml_tag="Media")
    data = await media.content(call.conn, row.sid)
    if data is None:
        raise NotFound()
    return render.Content(data, row.content_type)


async def delete_media(call: Call) -> Answer:
    message = await service.get(call.conn, call.account, call.path_params["message_sid"])
    await service.remove_media(call.conn, message, call.path_params["sid"])
    return render.NoContent()


async def create_feedback(call: Call) -> Answer:
    message = await service.get(call.conn, call.account, call.path_params["message_sid"])
    row = await service.give_feedback(call.conn, message, call.params)
    return render.Resource(service.render_feedback(row), xml_tag="Feedback")


async def list_webhooks(call: Call) -> Answer:
    """Loft's own: every webhook attempt made for a message (status callbacks, inbound, fallback, redirects)."""
    message = await service.get(call.conn, call.account, call.path_params["sid"])
    return render.Json({"webhooks": await attempts.for_message(call.conn, message.sid)})


async def list_deliveries(call: Call) -> Answer:
    """Loft's own: the message's hand-offs to network carriers, with their references and reports."""
    message = await service.get(call.conn, call.account, call.path_params["sid"])
    return render.Json({"deliveries": await delivery_attempts.for_message(call.conn, message.sid)})


routes = [
    endpoint.route(_BASE, list_messages),
    endpoint.route(_BASE + "/{sid}", fetch_message),
    endpoint.route(_BASE + "/{sid}", update_message, method="POST"),
    endpoint.route(_BASE + "/{sid}", delete_message, method="DELETE"),
    endpoint.route(_BASE + "/{message_sid}/Media", list_media),
    endpoint.route(_BASE + "/{message_sid}/Media/{sid}", fetch_media),
    endpoint.route(_BASE + "/{message_sid}/Media/{sid}", delete_media, method="DELETE"),
    endpoint.route(_BASE + "/{message_sid}/Feedback", create_feedback, method="POST"),
    endpoint.route("/loft/v1/Accounts/{account_sid}/Messages/{sid}/Webhooks", list_webhooks),
    endpoint.route("/loft/v1/Accounts/{account_sid}/Messages/{sid}/Deliveries", list_deliveries),
]
