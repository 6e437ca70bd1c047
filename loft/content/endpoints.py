"""The Content API v1 on Loft's host (twilio-python's ``client.content``, whose base URL points at Loft): templates
(``/v1/Content``), the same with their approval requests (``/v1/ContentAndApprovals``), the legacy WhatsApp
templates (``/v1/LegacyContent``: Loft has none, so an empty list) and WhatsApp approval requests. Bodies are JSON
(:mod:`loft.kit.jsonbody`); paths name no account: a request acts for its credential's own account."""

from __future__ import annotations

from loft.accounts import auth
from loft.content import service
from loft.kit import endpoint, paging, render, v1
from loft.kit.endpoint import Answer, Call

_CONTENTS = "/v1/Content"
_CONTENT = _CONTENTS + "/{sid}"


async def create_content(call: Call) -> Answer:
    created = await service.create(call.conn, call.account, service.changes_from(call.document, creating=True))
    return v1.Resource(service.render_content(created, call.origin), status=201)


async def list_contents(call: Call) -> Answer:
    request = paging.parse(call.params)
    found, more = await service.page(call.conn, call.account, request)
    return v1.page(key="contents", records=[service.render_content(each, call.origin) for each in found],
                   origin=call.origin, path=_CONTENTS, filters=[], request=request, has_next=more)


async def fetch_content(call: Call) -> Answer:
    found = await service.get(call.conn, call.account.sid, call.path_params["sid"])
    return v1.Resource(service.render_content(found, call.origin))


async def update_content(call: Call) -> Answer:
    changed = await service.change(call.conn, call.account, call.path_params["sid"],
                                   service.changes_from(call.document, creating=False))
    return v1.Resource(service.render_content(changed, call.origin))


async def delete_content(call: Call) -> Answer:
    await service.remove(call.conn, call.account, call.path_params["sid"])
    return render.NoContent()


async def list_contents_and_approvals(call: Call) -> Answer:
    request = paging.parse(call.params)
    found, more = await service.page(call.conn, call.account, request)
    return v1.page(key="contents", records=[service.render_with_approvals(each) for each in found],
                   origin=call.origin, path="/v1/ContentAndApprovals", filters=[], request=request, has_next=more)


async def list_legacy_contents(call: Call) -> Answer:
    """Legacy WhatsApp templates (made before the Content API) are Twilio's past: Loft has none."""
    return v1.page(key="contents", records=[], origin=call.origin, path="/v1/LegacyContent", filters=[],
                   request=paging.parse(call.params), has_next=False)


async def create_whatsapp_approval(call: Call) -> Answer:
    approved = await service.request_approval(call.conn, call.account, call.path_params["sid"], call.document)
    return v1.Resource(service.render_approval_created(approved), status=201)


async def fetch_approvals(call: Call) -> Answer:
    found = await service.get(call.conn, call.account.sid, call.path_params["sid"])
    return v1.Resource(service.render_approval(found, call.origin))


routes = [
    endpoint.route(_CONTENTS, list_contents, who=auth.principal),
    endpoint.route(_CONTENTS, create_content, method="POST", who=auth.principal, json=True),
    endpoint.route(_CONTENT, fetch_content, who=auth.principal),
    endpoint.route(_CONTENT, update_content, method="PUT", who=auth.principal, json=True),
    endpoint.route(_CONTENT, delete_content, method="DELETE", who=auth.principal),
    endpoint.route(_CONTENT + "/ApprovalRequests", fetch_approvals, who=auth.principal),
    endpoint.route(_CONTENT + "/ApprovalRequests/whatsapp", create_whatsapp_approval, method="POST",
                   who=auth.principal, json=True),
    endpoint.route("/v1/ContentAndApprovals", list_contents_and_approvals, who=auth.principal),
    endpoint.route("/v1/LegacyContent", list_legacy_contents, who=auth.principal),
]
