"""HTTP Basic authentication the way Twilio does it: ``AccountSid:AuthToken`` or ``KeySid:KeySecret``.

A request is answered for the account in its path only when the credential reaches that account:

- the **auth token** reaches its own account and its subaccounts (403, 20003, for any other);
- an **API key** is one of Twilio's standard keys: it reaches only the account it belongs to (not even that
  account's subaccounts), and none of the resources Twilio keeps from standard keys, ``/Accounts`` (the account
  itself, with its auth token, and its subaccounts) and ``/Keys`` (so a leaked key cannot reveal the token, mint
  more keys, or outlive its own deletion). Twilio answers those 401 (20003, "Authenticate"), and so does Loft.

Failures are slowed down (:mod:`loft.accounts.throttle`): per client address, per SID, and a floor under the
time of every failed answer.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from loft import context
from loft.accounts import keys, service, throttle
from loft.accounts.service import Account
from loft.context import Loft
from loft.db.engine import Conn
from loft.errors import PermissionDenied, TooManyRequests, Unauthenticated
from loft.kit import crypto, sids


@dataclass(slots=True)
class Credential:
    """Who a request authenticated as: an account, through its auth token or one of its API keys. A value, never
    changed once made; not ``frozen``, which would set its fields through ``object.__setattr__`` at every request."""

    account: Account
    #: The API key the request carried (a standard key: see the module's docstring); None for the auth token.
    key_sid: str | None = None


#: Authorization headers already decoded, and what they say (a client sends the same one with every request).
#: Only the decoding is remembered: the credentials are checked against the account at every request.
_decoded: dict[str, tuple[str, str] | None] = {}
_DECODED_MAX = 1024
_HEADER_KEPT = 512  # longer headers are decoded each time (a thousand of them must not fill the memory)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = _authorization(request.scope["headers"])
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


def _authorization(headers: list[tuple[bytes, bytes]]) -> str:
    """The ``Authorization`` header's value (the first, as Starlette's ``headers.get`` gives it), read from the
    ASGI scope's list, whose names are lower case: Starlette's ``Headers`` view costs more than this one look."""
    for name, value in headers:
        if name == b"authorization":
            return value.decode("latin-1")
    return ""


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


async def principal(request: Request, *, keys_allowed: bool = True) -> Account:
    """The account whose credentials the request carries; 401 (20003) when there are none or they are wrong, or
    when they are an API key and ``keys_allowed`` is False (``/Accounts`` and ``/Keys``)."""
    credential = await credential_of(request)
    if credential.key_sid is not None and not keys_allowed:
        raise Unauthenticated()
    return credential.account


#: Where :func:`credential_of` keeps a request's credential in its scope, for :func:`credential_in`.
_CREDENTIAL_KEY = "loft.credential"


async def credential_of(request: Request) -> Credential:
    """The request's :class:`Credential` (also kept in the request, for :func:`credential_in`); 401 (20003)
    otherwise."""
    given = basic_credentials(request)
    if given is None:
        raise Unauthenticated()
    client = request.scope.get("client")
    credential = await authenticate(context.of(request), *given, client=client[0] if client else None)
    request.scope[_CREDENTIAL_KEY] = credential
    return credential


def credential_in(request: Request) -> Credential:
    """The credential the request was authenticated with, by :func:`credential_of` (which every authenticating
    function calls: :func:`principal`, :func:`account_in_path`)."""
    credential: Credential = request.scope[_CREDENTIAL_KEY]
    return credential


async def authenticate(loft: Loft, username: str, password: str, *, client: str | None) -> Credential:
    """What ``username`` (an Account SID or an API key SID) and ``password`` open, for a request from the address
    ``client``; 401 otherwise, and 429 (20429) while ``client`` has failed too often."""
    wait = loft.throttle.refused_for(client)
    if wait:
        raise TooManyRequests(wait)
    began = time.monotonic()
    credential = await _check(loft, username, password)
    if credential is None:
        delay = loft.throttle.failed(client, username)
        floor = began + throttle.FLOOR
        await asyncio.sleep(max(0.0, floor - time.monotonic()) + delay)
        # uvloop rounds a timer's delay down to whole milliseconds: a sleep may end up to a millisecond early,
        # which the floor must not show.
        while (left := floor - time.monotonic()) > 0:
            await asyncio.sleep(left + 0.001)
        raise Unauthenticated()
    return credential


async def _check(loft: Loft, username: str, password: str) -> Credential | None:
    if sids.is_sid(username, "SK"):
        key = await _key(loft, username)
        if key is None or not crypto.same(key[1], crypto.digest(password)):
            return None
        account = await lookup(loft, key[0])
        if account is None or account.status == "closed":
            return None
        return Credential(account, username)
    if not sids.is_sid(username, "AC"):
        return None
    account = loft.credentials.get(username) or await lookup(loft, username)  # (a cached one: no coroutine)
    if account is None or account.status == "closed" or not crypto.same(account.auth_token, password):
        return None
    return Credential(account)


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
    kept = loft.credentials.get(sid)
    if kept is not None:  # as every request finds it: no read to prepare
        return kept

    async def reading() -> Any:
        async with loft.db.read() as conn:
            return await read(conn)

    return await loft.credentials.fetch(sid, reading)


async def account_in_path(request: Request, *, keys_allowed: bool = True) -> Account:
    """Authenticate, then resolve ``{AccountSid}`` of the path: 403 (20003) when it is out of reach, 401 when an
    API key is used beyond its account or where ``keys_allowed`` is False (``/Accounts/{Sid}``, ``/Keys``)."""
    credential = await credential_of(request)
    if credential.key_sid is not None and not keys_allowed:
        raise Unauthenticated()
    return await reach(request, credential, request.path_params["account_sid"])


async def reach(request: Request, who: Credential, sid: str) -> Account:
    """The account ``sid`` if ``who`` may act on it: its own, or, with the auth token, a subaccount of it."""
    if sid == who.account.sid:
        return who.account
    if who.key_sid is not None:
        raise Unauthenticated()  # a standard key acts for its own account only
    target = await lookup(context.of(request), sid) if sids.looks_like_sid(sid) else None
    if target is None or not who.account.reaches(target):
        raise PermissionDenied(f"The credentials given do not grant access to account {sid}")
    return target
