"""API keys (``SK…``): a second credential for an account, revocable on its own.

The secret (32 random hex digits, 128 bits) is returned once, when the key is made; Loft keeps only its
SHA-256 digest, which is enough for a secret of that entropy. A deleted key fails the very next request.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Row, delete, select, update

from loft.accounts import credentials, service
from loft.db import pages
from loft.db.engine import Conn
from loft.db.tables import api_keys
from loft.errors import InvalidParameter, NotFound
from loft.kit import crypto, dates, paging, sids


async def create(conn: Conn, account_sid: str, friendly_name: str | None) -> tuple[Row[Any], str]:
    """A new key of the account: its row, and its secret (shown this once). Not for a suspended or closed
    account (403, 20005)."""
    await service.ensure_active(conn, account_sid, "create API keys")
    secret = secrets.token_hex(16)
    moment = dates.now()
    sid = sids.new("SK")
    await conn.execute(
        api_keys.insert().values(sid=sid, account_sid=account_sid, friendly_name=_name(friendly_name, sid),
                                 secret_digest=crypto.digest(secret), date_created=moment, date_updated=moment)
    )
    return await get(conn, account_sid, sid), secret


async def get(conn: Conn, account_sid: str, sid: str) -> Row[Any]:
    row = (
        await conn.execute(select(api_keys).where(api_keys.c.sid == sid, api_keys.c.account_sid == account_sid))
    ).first()
    if row is None:
        raise NotFound()
    return row


async def digest_of(conn: Conn, sid: str) -> tuple[str, str] | None:
    """The account the key ``sid`` acts for and the digest of its secret; None when there is no such key."""
    row = (await conn.execute(select(api_keys.c.account_sid, api_keys.c.secret_digest)
                              .where(api_keys.c.sid == sid))).first()
    return None if row is None else (str(row.account_sid), str(row.secret_digest))


async def rename(conn: Conn, account_sid: str, sid: str, friendly_name: str | None) -> Row[Any]:
    await get(conn, account_sid, sid)
    if friendly_name is not None:
        await conn.execute(update(api_keys).where(api_keys.c.sid == sid)
                           .values(friendly_name=_name(friendly_name, sid), date_updated=dates.now()))
    return await get(conn, account_sid, sid)


async def remove(conn: Conn, account_sid: str, sid: str) -> None:
    await get(conn, account_sid, sid)
    await conn.execute(delete(api_keys).where(api_keys.c.sid == sid))
    credentials.changed()


async def page(conn: Conn, account_sid: str,
               request: paging.PageRequest) -> tuple[list[Row[Any]], bool]:
    return await pages.fetch(conn, api_keys, where=[api_keys.c.account_sid == account_sid],
                             order=("date_created", "sid"), descending=False, request=request)


def render(row: Row[Any], secret: str | None = None) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "sid": row.sid,
        "friendly_name": row.friendly_name,
        "date_created": dates.rfc2822(row.date_created),
        "date_updated": dates.rfc2822(row.date_updated),
    }
    if secret is not None:
        rendered["secret"] = secret
    return rendered


def _name(friendly_name: str | None, sid: str) -> str:
    if friendly_name is not None and len(friendly_name) > 64:
        raise InvalidParameter(20001, "FriendlyName must be at most 64 characters long")
    return friendly_name or sid
