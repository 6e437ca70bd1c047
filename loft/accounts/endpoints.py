"""``/2010-04-01/Accounts`` — the account a credential belongs to, its subaccounts and its API keys: for the auth
token only (Twilio keeps them from standard API keys, which are answered 401)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth, keys, service
from loft.errors import InvalidParameter
from loft.kit import dates, forms, paging, render

_PATH = "/2010-04-01/Accounts"


async def list_accounts(request: Request) -> Response:
    who = await auth.principal(request, keys_allowed=False)
    query = request.query_params
    status = query.get("Status")
    if status is not None and status not in ("active", "suspended", "closed"):
        raise InvalidParameter(20001, f"Status must be active, suspended or closed, not '{status}'")
    page_request = paging.parse(query)
    loft = context.of(request)
    async with loft.db.read() as conn:
        found = await service.list_reachable(conn, loft.box, who, friendly_name=query.get("FriendlyName"), status=status)
    window = found[page_request.offset : page_request.offset + page_request.size + 1]
    filters = [(name, query[name]) for name in ("FriendlyName", "Status") if name in query]
    envelope = paging.envelope(
        key="accounts",
        records=[service.render(a, with_token=True) for a in window[: page_request.size]],
        path=f"{_PATH}.json",
        filters=filters,
        request=paging.PageRequest(page_request.size, page_request.number, None),
        has_next=len(window) > page_request.size,
    )
    return render.page(request, envelope, key="accounts", xml_list_tag="Accounts", xml_item_tag="Account")


async def create_subaccount(request: Request) -> Response:
    who = await auth.principal(request, keys_allowed=False)
    if who.parent_sid is not None:
        raise InvalidParameter(20001, "A subaccount cannot create subaccounts")
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        account = await service.create(
            conn,
            loft.box,
            friendly_name=form.get("FriendlyName") or f"SubAccount Created at {_now_label()}",
            parent_sid=who.sid,
        )
    return render.resource(request, service.render(account, with_token=True), xml_tag="Account", status=201)


async def fetch_account(request: Request) -> Response:
    account = await auth.account_in_path(request, keys_allowed=False)
    return render.resource(request, service.render(account, with_token=True), xml_tag="Account")


async def update_account(request: Request) -> Response:
    target = await auth.account_in_path(request, keys_allowed=False)
    who = request.state.credential.account
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        account = await service.change(conn, loft.box, who, target, friendly_name=form.get("FriendlyName"),
                                       status=form.get("Status"))
    return render.resource(request, service.render(account, with_token=True), xml_tag="Account")


async def create_key(request: Request) -> Response:
    account = await auth.account_in_path(request, keys_allowed=False)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row, secret = await keys.create(conn, account.sid, form.get("FriendlyName"))
    return render.resource(request, keys.render(row, secret), xml_tag="Key", status=201)


async def list_keys(request: Request) -> Response:
    account = await auth.account_in_path(request, keys_allowed=False)
    page_request = paging.parse(request.query_params)
    loft = context.of(request)
    async with loft.db.read() as conn:
        rows, more = await keys.page(conn, account.sid, page_request)
    envelope = paging.envelope(key="keys", records=[keys.render(row) for row in rows],
                               path=f"{_PATH}/{account.sid}/Keys.json", filters=[], request=page_request,
                               has_next=more)
    return render.page(request, envelope, key="keys", xml_list_tag="Keys", xml_item_tag="Key")


async def fetch_key(request: Request) -> Response:
    account = await auth.account_in_path(request, keys_allowed=False)
    loft = context.of(request)
    async with loft.db.read() as conn:
        row = await keys.get(conn, account.sid, request.path_params["sid"], path=render.requested_path(request))
    return render.resource(request, keys.render(row), xml_tag="Key")


async def update_key(request: Request) -> Response:
    account = await auth.account_in_path(request, keys_allowed=False)
    form = await forms.read(request)
    loft = context.of(request)
    async with loft.db.write() as conn:
        row = await keys.rename(conn, account.sid, request.path_params["sid"], form.get("FriendlyName"),
                                path=render.requested_path(request))
    return render.resource(request, keys.render(row), xml_tag="Key")


async def delete_key(request: Request) -> Response:
    account = await auth.account_in_path(request, keys_allowed=False)
    loft = context.of(request)
    async with loft.db.write() as conn:
        await keys.remove(conn, account.sid, request.path_params["sid"], path=render.requested_path(request))
    return render.no_content()


def _now_label() -> str:
    return dates.now().strftime("%Y-%m-%d %I:%M %p")


routes = [
    Route(_PATH, list_accounts, methods=["GET"]),
    Route(_PATH, create_subaccount, methods=["POST"]),
    Route(_PATH + "/{account_sid}", fetch_account, methods=["GET"]),
    Route(_PATH + "/{account_sid}", update_account, methods=["POST"]),
    Route(_PATH + "/{account_sid}/Keys", list_keys, methods=["GET"]),
    Route(_PATH + "/{account_sid}/Keys", create_key, methods=["POST"]),
    Route(_PATH + "/{account_sid}/Keys/{sid}", fetch_key, methods=["GET"]),
    Route(_PATH + "/{account_sid}/Keys/{sid}", update_key, methods=["POST"]),
    Route(_PATH + "/{account_sid}/Keys/{sid}", delete_key, methods=["DELETE"]),
]
