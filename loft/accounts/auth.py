"""HTTP Basic authentication the way Twilio does it: ``AccountSid:AuthToken`` or ``KeySid:KeySecret``.

A request is answered for the account in its path only when the credential reaches that account (its own,
or one of its subaccounts). An API key acts for the account it belongs to, exactly like its auth token.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from loft import context
from loft.accounts import credentials, keys, service
from loft.accounts.service import Account
from loft.context import Loft
from loft.db.engine import Conn
from loft.errors import PermissionDenied, Unauthenticated
from loft.kit import crypto, sids

#: Authorization headers already decoded, and what they say (a client sends the same one with every request).
#: Only the decoding is remembered: the credentials are checked against the account at every request.
_decoded: dict[str, tuple[str, str] | None] = {}
_DECODED_MAX = 1024
_HEADER_KEPT = 512  # longer headers are decoded each time (a thousand of them must not fill the memory)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    try:
        return _decoded[header]
    except KeyError:
        pass
    given = _decode(header)
    if len(header) <= _HEADER_KEPT:
        if len(_decoded) >= _DECODED_MAX:
            _decoded.clear()
        _decoded[header] = given
    return given


def _decode(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII header text
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


async def principal(request: Request) -> Account:
    """The account whose credentials the request carries; 401 (20003) when there are none or they are wrong."""
    given = basic_credentials(request)
    if given is None:
        raise Unauthenticated()
    return await authenticate(context.of(request), *given)


async def authenticate(loft: Loft, username: str, password: str) -> Account:
    """The account that ``username`` (an Account SID or an API key SID) and ``password`` open; 401 otherwise."""
    if sids.is_sid(username, "SK"):
        key = await _key(loft, username)
        if key is None or not crypto.same(key[1], crypto.digest(password)):
            raise Unauthenticated()
        account = await lookup(loft, key[0])
        if account is None or account.status == "closed":
            raise Unauthenticated()
        return account
    if not sids.is_sid(username, "AC"):
        raise Unauthenticated()
    account = await lookup(loft, username)
    if account is None or account.status == "closed" or not crypto.same(account.auth_token, password):
        raise Unauthenticated()
    return account


async def lookup(loft: Loft, sid: str) -> Account | None:
    """The account ``sid``, read at most :data:`credentials.TTL` seconds ago (and since any change made here)."""
    account: Account | None = await _cached(loft, sid, lambda conn: service.get(conn, loft.box, sid))
    return account


async def _key(loft: Loft, sid: str) -> tuple[str, str] | None:
    """The account and secret digest of the API key ``sid`` (cached like accounts)."""
    key: tuple[str, str] | None = await _cached(loft, sid, lambda conn: keys.digest_of(conn, sid))
    return key


async def _cached(loft: Loft, sid: str, read: Callable[[Conn], Awaitable[Any]]) -> Any:
    """What ``read`` finds for ``sid``, from the credential cache when it is fresh there."""
    value = loft.credentials.get(sid)
    if value is None:
        seen = credentials.generation()
        async with loft.db.read() as conn:
            value = await read(conn)
        if value is not None:
            loft.credentials.put(sid, value, generation=seen)
    return value


async def account_in_path(request: Request) -> Account:
    """Authenticate, then resolve ``{AccountSid}`` of the path: 403 (20003) when it is out of reach.

    The authenticated account is kept as ``request.state.principal``.
    """
    who = await principal(request)
    request.state.principal = who
    return await reach(request, who, request.path_params["account_sid"])


async def reach(request: Request, who: Account, sid: str) -> Account:
    """The account ``sid`` if ``who`` may act on it (itself or a subaccount); 403 (20003) otherwise."""
    if sid == who.sid:
        return who
    target = await lookup(context.of(request), sid) if sids.looks_like_sid(sid) else None
    if target is None or not who.reaches(target):
        raise PermissionDenied(f"The credentials given do not grant access to account {sid}")
    return target
