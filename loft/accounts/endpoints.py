"""``/2010-04-01/Accounts`` — the account a credential belongs to, its subaccounts and its API keys: for the auth
token only (Twilio keeps them from standard API keys, which are answered 401)."""

from __future__ import annotations

from starlette.requests import Request

from loft.accounts import auth, keys, service
from loft.accounts.service import Account
from loft.errors import InvalidParameter
from loft.kit import dates, endpoint, paging, render
from loft.kit.endpoint import Answer, Call

_PATH = "/2010-04-01/Accounts"


async def _token_principal(request: Request) -> Account:
    """The credential's own account, for the auth token only (API keys are answered 401)."""
    return await auth.principal(request, keys_allowed=False)


async def _token_holder(request: Request) -> Account:
    """The path's account, for the auth token only: ``/Keys`` answer API keys 401, as Twilio's standard keys."""
    return await auth.account_in_path(request, keys_allowed=False)


def _account(account: Account, status: int = 200) -> render.Resource:
    return render.Resource(service.render(account, with_token=True), xml_tag="Account", status=status)


async def list_accounts(call: Call) -> Answer:
    query = call.params
    status = query.get("Status")
    if status is not None and status not in ("active", "suspended", "closed"):
        raise InvalidParameter(20001, f"Status must be active, suspended or closed, not '{status}'")
    page_request = paging.parse(query)
    found = await service.list_reachable(call.conn, call.loft.box, call.account,
                                         friendly_name=query.get("FriendlyName"), status=status)
    window = found[page_request.offset : page_request.offset + page_request.size + 1]
    envelope = paging.envelope(
        key="accounts",
        records=[service.render(a, with_token=True) for a in window[: page_request.size]],
        path=f"{_PATH}.json",
        filters=[(name, query[name]) for name in ("FriendlyName", "Status") if name in query],
        request=paging.PageRequest(page_request.size, page_request.number, None),
        has_next=len(window) > page_request.size,
    )
    return render.Page(envelope, key="accounts", xml_list_tag="Accounts", xml_item_tag="Account")


async def create_subaccount(call: Call) -> Answer:
    if call.account.parent_sid is not None:
        raise InvalidParameter(20001, "A subaccount cannot create subaccounts")
    account = await service.create(call.conn, call.loft.box, parent_sid=call.account.sid,
                                   friendly_name=call.params.get("FriendlyName") or f"SubAccount Created at {_now_label()}")
    return _account(account, status=201)


async def fetch_account(call: Call) -> Answer:
    return _account(call.account)


async def update_account(call: Call) -> Answer:
    """The path's account, changed by the credential's (a parent suspends or closes its subaccounts)."""
    who = auth.credential_in(call.request).account
    return _account(await service.change(call.conn, call.loft.box, who, call.account,
                                         friendly_name=call.params.get("FriendlyName"), status=call.params.get("Status")))


def _key(data: dict[str, object], status: int = 200) -> render.Resource:
    return render.Resource(data, xml_tag="Key", status=status)


async def create_key(call: Call) -> Answer:
    row, secret = await keys.create(call.conn, call.account.sid, call.params.get("FriendlyName"))
    return _key(keys.render(row, secret), status=201)


async def list_keys(call: Call) -> Answer:
    page_request = paging.parse(call.params)
    rows, more = await keys.page(call.conn, call.account.sid, page_request)
    envelope = paging.envelope(key="keys", records=[keys.render(row) for row in rows],
                               path=f"{_PATH}/{call.account.sid}/Keys.json", filters=[], request=page_request,
                               has_next=more)
    return render.Page(envelope, key="keys", xml_list_tag="Keys", xml_item_tag="Key")


async def fetch_key(call: Call) -> Answer:
    row = await keys.get(call.conn, call.account.sid, call.path_params["sid"])
    return _key(keys.render(row))


async def update_key(call: Call) -> Answer:
    row = await keys.rename(call.conn, call.account.sid, call.path_params["sid"], call.params.get("FriendlyName"))
    return _key(keys.render(row))


async def delete_key(call: Call) -> Answer:
    await keys.remove(call.conn, call.account.sid, call.path_params["sid"])
    return render.NoContent()


def _now_label() -> str:
    return dates.now().strftime("%Y-%m-%d %I:%M %p")


routes = [
    endpoint.route(_PATH, list_accounts, who=_token_principal),
    endpoint.route(_PATH, create_subaccount, method="POST", who=_token_principal),
    endpoint.route(_PATH + "/{account_sid}", fetch_account, who=_token_holder),
    endpoint.route(_PATH + "/{account_sid}", update_account, method="POST", who=_token_holder),
    endpoint.route(_PATH + "/{account_sid}/Keys", list_keys, who=_token_holder),
    endpoint.route(_PATH + "/{account_sid}/Keys", create_key, method="POST", who=_token_holder),
    endpoint.route(_PATH + "/{account_sid}/Keys/{sid}", fetch_key, who=_token_holder),
    endpoint.route(_PATH + "/{account_sid}/Keys/{sid}", update_key, method="POST", who=_token_holder),
    endpoint.route(_PATH + "/{account_sid}/Keys/{sid}", delete_key, method="DELETE", who=_token_holder),
]
