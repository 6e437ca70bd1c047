"""``/2010-04-01/Accounts/{AccountSid}/Messages`` with its ``Media`` and ``Feedback`` subresources."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.delivery import attempts as delivery_attempts
from loft.delivery import send
from loft.errors import NotFound
from loft.kit import forms, paging, render
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


async def list_messages(request: Request) -> Response:
    account = await auth.account_in_path(request)
    query = request.query_params
    page_request = paging.parse(query)
    loft = context.of(request)
    async with loft.db.read() as conn:
        rows, more = await service.page(conn, account, query, page_request)
    envelope = paging.envelope(
        key="messages",
        records=[service.render(row) for row in rows],
        path=f"/2010-04-01/Accounts/{account.sid}/Messages.json",
        filters=[(name, query[name]) for name in _FILTERS if name in query],
        request=page_request,
        has_next=more,
    )
    return render.page(request, envelope, key="messages", xml_list_tag="Messages", xml_item_tag="Message")


async def fetch_message(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        row = await service.get(conn, account, request.path_params["sid"])
    return render.resource(request, service.render(row), xml_tag="Message")


async def update_message(request: Request) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await service.redact_or_cancel(conn, account, request.path_params["sid"], status=form.get("Status"),
                                             body=form.get("Body"))
    return render.resource(request, service.render(row), xml_tag="Message")


async def delete_message(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        await service.remove(conn, account, request.path_params["sid"])
    return render.no_content()


async def list_media(request: Request) -> Response:
    account = await auth.account_in_path(request)
    query = request.query_params
    page_request = paging.parse(query)
    loft = context.of(request)
    async with loft.db.read() as conn:
        message = await service.get(conn, account, request.path_params["message_sid"])
        rows, more = await service.media_page(conn, message, query, page_request)
    envelope = paging.envelope(
        key="media_list",
        records=[service.render_media(row) for row in rows],
        path=f"/2010-04-01/Accounts/{account.sid}/Messages/{message.sid}/Media.json",
        filters=[(name, query[name]) for name in ("DateCreated", "DateCreated<", "DateCreated>") if name in query],
        request=page_request,
        has_next=more,
    )
    return render.page(request, envelope, key="media_list", xml_list_tag="MediaList", xml_item_tag="Media")


async def fetch_media(request: Request) -> Response:
    """The Media resource (``.json``/``.xml``), or, as at Twilio, its content when the path has no suffix."""
    account = await auth.account_in_path(request)
    path = render.requested_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        message = await service.get(conn, account, request.path_params["message_sid"])
        row = await service.media_item(conn, message, request.path_params["sid"])
        data = None if path.endswith((".json", ".xml")) else await media.content(conn, row.sid)
    if not path.endswith((".json", ".xml")):
        if data is None:
            raise NotFound()
        return Response(data, media_type=row.content_type)
    return render.resource(request, service.render_media(row), xml_tag="Media")


async def list_webhooks(request: Request) -> Response:
    """Loft's own: every webhook attempt made for a message (status callbacks, inbound, fallback, redirects)."""
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        message = await service.get(conn, account, request.path_params["sid"])
        found = await attempts.for_message(conn, message.sid)
    return render.json_response({"webhooks": found}, 200)


async def list_deliveries(request: Request) -> Response:
    """Loft's own: the message's hand-offs to network carriers, with their references and reports."""
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        message = await service.get(conn, account, request.path_params["sid"])
        found = await delivery_attempts.for_message(conn, message.sid)
    return render.json_response({"deliveries": found}, 200)


async def delete_media(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        message = await service.get(conn, account, request.path_params["message_sid"])
        await service.remove_media(conn, message, request.path_params["sid"])
    return render.no_content()


async def create_feedback(request: Request) -> Response:
    account = await auth.account_in_path(request)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        message = await service.get(conn, account, request.path_params["message_sid"])
        row = await service.give_feedback(conn, message, form)
    return render.resource(request, service.render_feedback(row), xml_tag="Feedback")


routes = [
    Route(_BASE, list_messages, methods=["GET"]),
    Route(_BASE + "/{sid}", fetch_message, methods=["GET"]),
    Route(_BASE + "/{sid}", update_message, methods=["POST"]),
    Route(_BASE + "/{sid}", delete_message, methods=["DELETE"]),
    Route(_BASE + "/{message_sid}/Media", list_media, methods=["GET"]),
    Route(_BASE + "/{message_sid}/Media/{sid}", fetch_media, methods=["GET"]),
    Route(_BASE + "/{message_sid}/Media/{sid}", delete_media, methods=["DELETE"]),
    Route(_BASE + "/{message_sid}/Feedback", create_feedback, methods=["POST"]),
    Route("/loft/v1/Accounts/{account_sid}/Messages/{sid}/Webhooks", list_webhooks, methods=["GET"]),
    Route("/loft/v1/Accounts/{account_sid}/Messages/{sid}/Deliveries", list_deliveries, methods=["GET"]),
]
