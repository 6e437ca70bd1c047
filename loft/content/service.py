"""Content templates (``HX…``): creating, changing, listing and deleting them, and their WhatsApp approval requests.

:class:`Content` is what the rest of Loft reads of a template (sending content renders it with
:func:`loft.content.render.render`: :mod:`loft.messages.content`): :func:`find` gives it for an account, or None — another account's template
is not found, as an unknown one. A suspended or closed account creates and changes none (403, 20005), but may
delete them.

The create body (JSON): ``language`` and ``types`` are required, ``friendly_name`` and ``variables`` (the
placeholders' defaults, strings) are not. ``PUT`` replaces what it names and keeps the rest.

WhatsApp approval: Loft is a sandbox, with nobody to review a template. A request (``name``, lowercase letters,
digits and underscores; ``category`` ``UTILITY``, ``MARKETING`` or ``AUTHENTICATION``) is approved at once; a
template has one request at most (a second is refused, 20001).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, delete, select, update

from loft.accounts import service as account_service
from loft.accounts.service import Account
from loft.content import render, types
from loft.db import owned
from loft.db.engine import Conn
from loft.db.tables import contents
from loft.errors import InvalidParameter, NotFound
from loft.kit import dates, paging, sids, v1

MAX_FRIENDLY_NAME: Final = 255
_LANGUAGE: Final = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,4})?$")
_APPROVAL_NAME: Final = re.compile(r"^[a-z0-9_]{1,512}$")
CATEGORIES: Final = ("UTILITY", "MARKETING", "AUTHENTICATION")


@dataclass(frozen=True, slots=True)
class Content:
    """A content template, as stored."""

    sid: str
    account_sid: str
    friendly_name: str | None
    language: str
    #: The placeholders' defaults.
    variables: Mapping[str, str]
    #: The template's translations by type (``twilio/text`` …), checked (:mod:`loft.content.types`).
    types: Mapping[str, Any]
    #: Its WhatsApp approval request (``name``, ``category``, ``status`` …), if one was made.
    approval: Mapping[str, Any] | None
    date_created: datetime
    date_updated: datetime

    @classmethod
    def of(cls, row: Row[Any]) -> Content:
        r = row._mapping
        return cls(sid=r["sid"], account_sid=r["account_sid"], friendly_name=r["friendly_name"],
                   language=r["language"], variables=r["variables"], types=r["types"], approval=r["approval"],
                   date_created=dates.as_utc(r["date_created"]), date_updated=dates.as_utc(r["date_updated"]))


def changes_from(document: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """What a create (``creating``: ``language`` and ``types`` required) or update body sets, checked; each key a
    column."""
    changes: dict[str, Any] = {}
    name = document.get("friendly_name")
    if name is not None:
        if not isinstance(name, str) or len(name) > MAX_FRIENDLY_NAME:
            raise InvalidParameter(20001, f"friendly_name must be a string of at most {MAX_FRIENDLY_NAME} characters")
        changes["friendly_name"] = name
    language = document.get("language")
    if language is None and creating:
        raise InvalidParameter(20001, "Missing required parameter language in the request body")
    if language is not None:
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            raise InvalidParameter(20001, f"language must be a language code such as en or pt_BR, not {language!r}")
        changes["language"] = language
    given = document.get("variables")
    if given is not None:
        if not isinstance(given, Mapping):
            raise InvalidParameter(20001, "variables must be an object of default values, e.g. {\"1\": \"Ada\"}")
        changes["variables"] = render.values(given, code=20001, where="variables")
    kinds = document.get("types")
    if kinds is None and creating:
        raise InvalidParameter(20001, "Missing required parameter types in the request body")
    if kinds is not None:
        changes["types"] = types.check(kinds)
    return changes


async def create(conn: Conn, account: Account, changes: Mapping[str, Any]) -> Content:
    await account_service.ensure_active(conn, account.sid, "create content templates")
    moment = dates.now()
    sid = sids.new("HX")
    await conn.execute(contents.insert().values({
        "sid": sid, "account_sid": account.sid, "friendly_name": None, "variables": {}, "approval": None,
        "date_created": moment, "date_updated": moment, **changes}))
    return await get(conn, account.sid, sid)


async def find(conn: Conn, account_sid: str, sid: str) -> Content | None:
    """The template ``sid`` if it is ``account_sid``'s."""
    row = await owned.find(conn, contents, "HX", sid, account_sid)
    return Content.of(row) if row is not None else None


async def find_many(conn: Conn, sids: Collection[str]) -> dict[str, Content]:
    """The templates among ``sids``, whoever's they are, by SID, in one query (sending content checks whose)."""
    if not sids:
        return {}
    found = await conn.execute(select(contents).where(contents.c.sid.in_(sorted(sids))))
    return {row.sid: Content.of(row) for row in found.all()}


async def get(conn: Conn, account_sid: str, sid: str) -> Content:
    """:func:`find`, or 20404 naming ``path``."""
    found = await find(conn, account_sid, sid)
    if found is None:
        raise NotFound()
    return found


async def change(conn: Conn, account: Account, sid: str, changes: Mapping[str, Any]) -> Content:
    await get(conn, account.sid, sid)
    await account_service.ensure_active(conn, account.sid, "change content templates")
    if changes:
        await conn.execute(update(contents).where(contents.c.sid == sid).values(**changes, date_updated=dates.now()))
    return await get(conn, account.sid, sid)


async def remove(conn: Conn, account: Account, sid: str) -> None:
    await get(conn, account.sid, sid)
    await conn.execute(delete(contents).where(contents.c.sid == sid))


async def page(conn: Conn, account: Account, request: paging.PageRequest) -> tuple[list[Content], bool]:
    rows, more = await owned.page(conn, contents, account.sid, request)
    return [Content.of(row) for row in rows], more


async def request_approval(conn: Conn, account: Account, sid: str, document: Mapping[str, Any]
                           ) -> Content:
    """Record the template's WhatsApp approval request, approved at once (Loft is a sandbox)."""
    content = await get(conn, account.sid, sid)
    await account_service.ensure_active(conn, account.sid, "request template approvals")
    name, category = document.get("name"), document.get("category")
    if name is None:
        raise InvalidParameter(20001, "Missing required parameter name in the request body")
    if not isinstance(name, str) or not _APPROVAL_NAME.match(name):
        raise InvalidParameter(20001, f"name must be lowercase letters, digits and underscores, not {name!r}")
    if category is None:
        raise InvalidParameter(20001, "Missing required parameter category in the request body")
    if category not in CATEGORIES:
        raise InvalidParameter(20001, f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    if content.approval is not None:
        raise InvalidParameter(20001, f"Content {sid} has an approval request already ({content.approval['name']})")
    approval = {"type": "whatsapp", "name": name, "category": category, "content_type": next(iter(content.types)),
                "status": "approved", "rejection_reason": "", "allow_category_change": True}
    await conn.execute(update(contents).where(contents.c.sid == sid).values(approval=approval,
                                                                           date_updated=dates.now()))
    return await get(conn, account.sid, sid)


# Rendering -----------------------------------------------------------------------------------------------------


def url(origin: str, sid: str) -> str:
    return f"{origin}/v1/Content/{sid}"


def _common(content: Content) -> dict[str, Any]:
    return {
        "sid": content.sid,
        "account_sid": content.account_sid,
        "friendly_name": content.friendly_name,
        "language": content.language,
        "variables": dict(content.variables),
        "types": dict(content.types),
        "date_created": v1.date(content.date_created),
        "date_updated": v1.date(content.date_updated),
    }


def render_content(content: Content, origin: str) -> dict[str, Any]:
    """A template as ``/v1/Content`` shows it."""
    base = url(origin, content.sid)
    return {**_common(content), "url": base,
            "links": {"approval_create": f"{base}/ApprovalRequests/whatsapp",
                      "approval_fetch": f"{base}/ApprovalRequests"}}


def render_with_approvals(content: Content) -> dict[str, Any]:
    """A template as ``/v1/ContentAndApprovals`` shows it: with its approval requests (``{}``: none made)."""
    return {**_common(content), "approval_requests": dict(content.approval or {})}


def render_approval_created(content: Content) -> dict[str, Any]:
    assert content.approval is not None
    return {key: content.approval[key] for key in ("name", "category", "content_type", "status",
                                                    "rejection_reason", "allow_category_change")}


def render_approval(content: Content, origin: str) -> dict[str, Any]:
    """``GET /v1/Content/{Sid}/ApprovalRequests``: ``whatsapp`` is ``{}`` until one is requested."""
    return {"sid": content.sid, "account_sid": content.account_sid, "whatsapp": dict(content.approval or {}),
            "url": f"{url(origin, content.sid)}/ApprovalRequests"}
