"""Console sessions: who is signed in, in a signed cookie, with a per-session CSRF token.

The cookie holds ``{"c": csrf token, "a": account sid, "k": API key sid or None, "f": token fingerprint,
"s": session id, "as": the subaccount it acts as, or None}``, signed (not encrypted) with itsdangerous under a key derived from the installation's secret
key, and expires after :data:`LIFETIME`. A visitor who has not signed in still gets a session (with only a CSRF
token), so that the sign-in form is protected too; signing in starts a fresh one.

A signed-in session also has a row in the database (``console_sessions``, keyed by the SHA-256 digest of its id,
shared by every process): signing out deletes it, so the cookie, replayed, opens nothing. Rows past their expiry
are deleted at each sign-in.

On every request the session is checked against the store again: its row, and a closed account, a rotated auth
token or a deleted API key end it at once. Credentials are checked by :func:`loft.accounts.auth.principal`,
exactly as for the API.

A session opened with an auth token may act as one of its account's subaccounts (the console's account
switcher, as at Twilio): the cookie names it, and :func:`acting_as` checks on every request that it still is a
subaccount of the signed-in account, and not closed. A session opened with an API key never acts for another
account.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, insert, select
from starlette.requests import Request
from starlette.responses import Response

from loft import context
from loft.accounts import auth, keys
from loft.accounts import service as accounts
from loft.accounts.service import Account
from loft.db.engine import Conn
from loft.db.prepared import Prepared
from loft.db.tables import console_sessions
from loft.errors import ConfigurationError, NotFound, Unauthenticated
from loft.kit import crypto, dates

COOKIE = "loft_console"
FLASH_COOKIE = "loft_console_flash"
LIFETIME = 12 * 3600
PATH = "/console"
#: What the session-signing key is derived for, from the key of the secret box (see SecretBox.derive).
SIGNING_PURPOSE = "loft console session signing key v1"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class Session:
    csrf: str
    account_sid: str | None = None
    key_sid: str | None = None
    fingerprint: str | None = None
    #: The id of a signed-in session's row (see :func:`sign_in`); None for a visitor not signed in.
    id: str | None = None
    #: The subaccount this session acts as (see :func:`acting_as`); None: the account it signed in as.
    acting_sid: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.account_sid is not None

    def dump(self) -> dict[str, Any]:
        return {"c": self.csrf, "a": self.account_sid, "k": self.key_sid, "f": self.fingerprint, "s": self.id,
                "as": self.acting_sid}


def anonymous() -> Session:
    return Session(csrf=secrets.token_urlsafe(32))


def read(request: Request) -> Session | None:
    """The session the request's cookie carries, if it is genuine and has not expired."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=LIFETIME)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    return Session(csrf=data["c"], account_sid=data.get("a"), key_sid=data.get("k"), fingerprint=data.get("f"),
                   id=data.get("s"), acting_sid=data.get("as"))


def write(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(COOKIE, _serializer(request).dumps(session.dump()), max_age=LIFETIME, path=PATH,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax")


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf.encode(), (given or "").encode())


async def sign_in(request: Request, username: str, password: str) -> tuple[Account, Session]:
    """Check an Account SID + auth token, or an API key SID + secret, the way the API does.

    Raises ``Unauthenticated`` when they are wrong (or the account is closed), ``TooManyRequests`` while the
    browser's address has failed too often.
    """
    username, password = username.strip(), password.strip()
    if not username or not password:
        raise Unauthenticated()
    loft = context.of(request)
    credential = await auth.authenticate(loft, username, password,
                                         client=request.client.host if request.client else None)
    account, key_sid = credential.account, credential.key_sid
    session = Session(csrf=secrets.token_urlsafe(32), account_sid=account.sid, key_sid=key_sid,
                      fingerprint=None if key_sid else fingerprint(account.auth_token), id=secrets.token_urlsafe(32))
    moment = dates.real_now()  # as the cookie's max_age: the simulator's clock does not end sessions
    async with loft.db.write() as conn:
        await conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= moment))
        await conn.execute(insert(console_sessions).values(
            id_digest=_digest(session), account_sid=account.sid, date_created=moment,
            expires_at=moment + timedelta(seconds=LIFETIME)))
    return account, session


async def end(request: Request, session: Session) -> None:
    """Sign out: the session's row goes, and with it every copy of its cookie."""
    if session.id is None:
        return
    async with context.of(request).db.write() as conn:
        await conn.execute(delete(console_sessions).where(console_sessions.c.id_digest == _digest(session)))


async def account_of(request: Request, session: Session) -> Account | None:
    """The signed-in account, or None when the session no longer stands (signed out, expired, closed, token
    changed, key gone)."""
    if session.account_sid is None or session.id is None:
        return None
    loft = context.of(request)
    async with loft.db.read() as conn:
        if not await _standing(conn, session):
            return None
        account = await accounts.get(conn, loft.box, session.account_sid)
        if account is None or account.status == "closed":
            return None
        if session.key_sid is not None:
            try:
                await keys.get(conn, account.sid, session.key_sid)
            except NotFound:
                return None
            return account
    if session.fingerprint is None or not crypto.same(session.fingerprint, fingerprint(account.auth_token)):
        return None
    return account


async def acting_as(request: Request, session: Session, principal: Account) -> Account:
    """The account the signed-in ``principal`` acts as: the subaccount the session switched to, while it is still a
    subaccount of ``principal`` and not closed; else ``principal`` itself (always, for an API key's session)."""
    if session.acting_sid is None or session.key_sid is not None or session.acting_sid == principal.sid:
        return principal
    loft = context.of(request)
    async with loft.db.read() as conn:
        target = await accounts.get(conn, loft.box, session.acting_sid)
    if target is None or target.parent_sid != principal.sid or target.status == "closed":
        return principal
    return target


_STANDING = Prepared(select(console_sessions.c.account_sid).where(
    console_sessions.c.id_digest == bindparam("digest"), console_sessions.c.expires_at > bindparam("now")))


async def _standing(conn: Conn, session: Session) -> bool:
    """The session's row is there, not expired, and for the account its cookie names."""
    found = (await conn.execute(_STANDING, {"digest": _digest(session), "now": dates.real_now()})).scalar()
    return found is not None and found == session.account_sid


def _digest(session: Session) -> str:
    assert session.id is not None
    return crypto.digest(session.id)


def fingerprint(auth_token: str) -> str:
    """Enough of a token's digest to notice it changed; the cookie never carries the token itself."""
    return crypto.digest(auth_token)[:16]


# Flash messages: one notice or error (and, once, a new key's secret) carried across a redirect, sealed with
# the installation's secret box since it may hold a secret.


def flash(request: Request, response: Response, kind: str, text: str, *, secret: dict[str, str] | None = None) -> None:
    payload = orjson.dumps({"kind": kind, "text": text, "secret": secret}).decode()
    response.set_cookie(FLASH_COOKIE, context.of(request).box.seal(payload), max_age=120, path=PATH,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")


def take_flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = orjson.loads(context.of(request).box.open(raw))
    except (ConfigurationError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def drop_flash(response: Response) -> None:
    response.delete_cookie(FLASH_COOKIE, path=PATH, httponly=True, samesite="lax")


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(context.of(request).box.derive(SIGNING_PURPOSE), salt="loft.console.session")



