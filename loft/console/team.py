"""Subaccounts (create, rename, suspend, reactivate, close, switch to) and API keys (create, rename, delete): for
sessions opened with the auth token only (Twilio keeps them from standard API keys).

A new key's secret, and a new subaccount's auth token, are shown once: they travel to the next page in the
sealed flash cookie, which that page deletes. Loft keeps only a key's digest; the console shows a subaccount's
token nowhere else (the parent's credentials still read it from the API, as at Twilio).

The account switcher lets a session opened with an account's auth token act as one of its subaccounts, and
come back: every page then shows and changes the subaccount (see :func:`sessions.acting_as`).
"""

from __future__ import annotations

from dataclasses import replace

from starlette.responses import Response
from starlette.routing import Route

from loft.accounts import auth, keys
from loft.accounts import service as accounts
from loft.console import sessions, web
from loft.console.web import Visit
from loft.errors import InvalidParameter, PermissionDenied
from loft.kit import dates, paging

_ACTIONS = {"suspend": "suspended", "activate": "active", "close": "closed"}


async def list_subaccounts(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    async with visit.loft.db.read() as conn:
        found = await accounts.list_reachable(conn, visit.loft.box, visit.account, friendly_name=None, status=None)
    return visit.render("subaccounts.html", subaccounts=[a for a in found if a.sid != visit.account.sid])


async def create_subaccount(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    if visit.account.parent_sid is not None:
        raise InvalidParameter(20001, "A subaccount cannot create subaccounts")
    name = (visit.form.get("FriendlyName") or "").strip()
    if len(name) > 64:
        raise InvalidParameter(20001, "FriendlyName must be at most 64 characters long")
    async with visit.loft.db.write() as conn:
        created = await accounts.create(
            conn, visit.loft.box, parent_sid=visit.account.sid,
            friendly_name=name or f"SubAccount Created at {dates.now().strftime('%Y-%m-%d %I:%M %p')}")
    return web.redirect(visit.request, "/console/subaccounts", notice=f"Created the subaccount {created.friendly_name}.",
                        secret={"sid": created.sid, "auth_token": created.auth_token})


async def change_subaccount(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    target = await auth.reach(visit.request, auth.Credential(visit.account), visit.path_params["sid"])
    status = _ACTIONS.get(visit.form.get("action") or "")
    name = visit.form.get("FriendlyName")
    async with visit.loft.db.write() as conn:
        changed = await accounts.change(conn, visit.loft.box, visit.account, target,
                                        friendly_name=name.strip() if name else None, status=status)
    what = {"suspended": "Suspended", "active": "Reactivated", "closed": "Closed"}.get(status or "", "Renamed")
    return web.redirect(visit.request, "/console/subaccounts", notice=f"{what} {changed.friendly_name}.")


async def switch(visit: Visit) -> Response:
    """Act as one of the signed-in account's subaccounts (``AccountSid``), or as itself again."""
    web.needs_auth_token(visit)
    sid = (visit.form.get("AccountSid") or "").strip()
    target = await auth.reach(visit.request, auth.Credential(visit.principal), sid)
    if target.status == "closed":
        raise PermissionDenied(f"The subaccount {target.friendly_name} is closed: there is nothing to act on")
    session = replace(visit.session, acting_sid=None if target.sid == visit.principal.sid else target.sid)
    # Acting as a subaccount, every page says so in a banner; coming back, a notice says it once.
    notice = f"Back to {target.friendly_name}." if session.acting_sid is None and visit.acting else None
    response = web.redirect(visit.request, "/console", notice=notice)
    sessions.write(visit.request, response, session)
    return response


async def list_keys(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    async with visit.loft.db.read() as conn:
        rows, _ = await keys.page(conn, visit.account.sid, paging.PageRequest(paging.MAX_SIZE, 0, None))
    return visit.render("keys.html", keys=rows)


async def create_key(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    name = (visit.form.get("FriendlyName") or "").strip() or None
    async with visit.loft.db.write() as conn:
        row, secret = await keys.create(conn, visit.account.sid, name)
    return web.redirect(visit.request, "/console/keys", notice=f"Created the API key {row.friendly_name}.",
                        secret={"sid": row.sid, "secret": secret})


async def rename_key(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    async with visit.loft.db.write() as conn:
        row = await keys.rename(conn, visit.account.sid, visit.path_params["sid"],
                                (visit.form.get("FriendlyName") or "").strip() or None)
    return web.redirect(visit.request, "/console/keys", notice=f"Renamed the key to {row.friendly_name}.")


async def delete_key(visit: Visit) -> Response:
    web.needs_auth_token(visit)
    sid = visit.path_params["sid"]
    async with visit.loft.db.write() as conn:
        row = await keys.get(conn, visit.account.sid, sid)
        await keys.remove(conn, visit.account.sid, sid)
    return web.redirect(visit.request, "/console/keys", notice=f"Deleted the API key {row.friendly_name}.")


routes = [
    Route("/console/subaccounts", web.page(list_subaccounts), methods=["GET"]),
    Route("/console/subaccounts", web.action(create_subaccount), methods=["POST"]),
    Route("/console/subaccounts/{sid}", web.action(change_subaccount), methods=["POST"]),
    Route("/console/switch", web.action(switch), methods=["POST"]),
    Route("/console/keys", web.page(list_keys), methods=["GET"]),
    Route("/console/keys", web.action(create_key), methods=["POST"]),
    Route("/console/keys/{sid}", web.action(rename_key), methods=["POST"]),
    Route("/console/keys/{sid}/delete", web.action(delete_key), methods=["POST"]),
]
