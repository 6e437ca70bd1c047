"""Accounts: the main account made on first start, subaccounts, and their auth tokens (sealed at rest)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from loft.accounts import credentials
from loft.db.engine import Conn
from loft.db.prepared import Prepared
from loft.db.tables import accounts, incoming_phone_numbers
from loft.errors import ConfigurationError, InvalidParameter, PermissionDenied, TwilioApiError
from loft.kit import crypto, dates, sids
from loft.kit.crypto import SecretBox

API_VERSION = "2010-04-01"
STATUSES = ("active", "suspended", "closed")


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    parent_sid: str | None
    friendly_name: str
    status: str
    type: str
    auth_token: str
    is_main: bool
    date_created: datetime
    date_updated: datetime

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.sid}.json"

    def reaches(self, other: Account) -> bool:
        """A credential acts on its own account and on its subaccounts, never on a parent or sibling."""
        return other.sid == self.sid or other.parent_sid == self.sid


@dataclass(frozen=True, slots=True)
class MainAccount:
    account: Account
    created: bool


def new_auth_token() -> str:
    return secrets.token_hex(16)


_BY_SID = Prepared(select(accounts).where(accounts.c.sid == bindparam("sid")))


async def get(conn: Conn, box: SecretBox, sid: str) -> Account | None:
    row = (await conn.execute(_BY_SID, {"sid": sid})).first()
    return _from_row(row._mapping, box) if row else None


async def list_reachable(conn: Conn, box: SecretBox, principal: Account, *,
                         friendly_name: str | None, status: str | None) -> list[Account]:
    query = select(accounts).where((accounts.c.sid == principal.sid) | (accounts.c.parent_sid == principal.sid))
    if friendly_name is not None:
        query = query.where(accounts.c.friendly_name == friendly_name)
    if status is not None:
        query = query.where(accounts.c.status == status)
    rows = (await conn.execute(query.order_by(accounts.c.date_created, accounts.c.sid))).all()
    return [_from_row(row._mapping, box) for row in rows]


async def create(conn: Conn, box: SecretBox, *, friendly_name: str, parent_sid: str | None,
                 sid: str | None = None, auth_token: str | None = None, is_main: bool = False) -> Account:
    moment = dates.now()
    account = Account(
        sid=sid or sids.new("AC"),
        parent_sid=parent_sid,
        friendly_name=friendly_name,
        status="active",
        type="Full",
        auth_token=auth_token or new_auth_token(),
        is_main=is_main,
        date_created=moment,
        date_updated=moment,
    )
    await conn.execute(
        accounts.insert().values(
            sid=account.sid,
            parent_sid=parent_sid,
            friendly_name=friendly_name,
            status=account.status,
            type=account.type,
            auth_token_sealed=box.seal(account.auth_token),
            is_main=is_main,
            date_created=moment,
            date_updated=moment,
        )
    )
    return account


async def ensure_main(conn: Conn, box: SecretBox, *, sid: str | None, auth_token: str | None) -> MainAccount:
    """The main account, made on first start, with the pinned SID and token (``LOFT_ACCOUNT_SID`` /
    ``LOFT_AUTH_TOKEN``) when they are given. Later, pins must match it, or the start is refused
    (:class:`ConfigurationError`, nothing written): a pin is never applied to an existing account, so that a
    mistyped or stale variable cannot replace its token, make a second main account or promote a subaccount.
    ``loft rotate-token`` changes the token on purpose."""
    row = (await conn.execute(select(accounts).where(accounts.c.is_main.is_(True)))).first()
    if row is None:
        account = await create(conn, box, friendly_name="Loft main account", parent_sid=None, sid=sid,
                               auth_token=auth_token, is_main=True)
        credentials.changed()
        return MainAccount(account, created=True)
    account = _from_row(row._mapping, box)
    if sid is not None and sid != account.sid:
        parent = (await conn.execute(select(accounts.c.parent_sid).where(accounts.c.sid == sid))).first()
        if parent is not None and parent[0] is not None:
            raise ConfigurationError(
                f"LOFT_ACCOUNT_SID is {sid}, a subaccount; the main account is {account.sid}: set it to that, or "
                "unset it (the terminal tools read TWILIO_ACCOUNT_SID)")
        raise ConfigurationError(
            f"LOFT_ACCOUNT_SID is {sid}, but this database's main account is {account.sid}: set it to that, or "
            "unset it, or point LOFT_DATA_DIR / LOFT_DATABASE_URL at the database it belongs to")
    if auth_token is not None and not crypto.same(auth_token, account.auth_token):
        raise ConfigurationError(
            "LOFT_AUTH_TOKEN is not the main account's auth token: unset it (the terminal tools read "
            "TWILIO_AUTH_TOKEN), or change the token with `loft rotate-token --token …`")
    return MainAccount(account, created=False)


async def sealed_main_token(conn: Conn) -> str | None:
    """The main account's auth token as stored (sealed), None before the main account exists."""
    return (await conn.execute(select(accounts.c.auth_token_sealed).where(accounts.c.is_main.is_(True)))).scalar()


async def rotate_token(conn: Conn, box: SecretBox, account: Account, token: str | None = None) -> Account:
    """Give ``account`` a new auth token (``token``, or a random one): the old one stops opening anything, in
    this process at once and in the others sharing the database within the credential cache's TTL
    (loft/accounts/credentials.py); console sessions signed in with it end (loft/console/sessions.py)."""
    token = token or new_auth_token()
    await conn.execute(update(accounts).where(accounts.c.sid == account.sid)
                       .values(auth_token_sealed=box.seal(token), date_updated=dates.now()))
    credentials.changed()
    return await get(conn, box, account.sid) or account


async def change(conn: Conn, box: SecretBox, principal: Account, target: Account, *,
                 friendly_name: str | None, status: str | None) -> Account:
    """Rename an account, or (its parent only) suspend, reactivate or close it. Closing is final, and releases
    the account's numbers."""
    values: dict[str, Any] = {}
    if friendly_name is not None:
        if len(friendly_name) > 64:
            raise InvalidParameter(20001, "FriendlyName must be at most 64 characters long")
        values["friendly_name"] = friendly_name
    if status is not None and status != target.status:
        if status not in STATUSES:
            raise InvalidParameter(20001, f"Status must be active, suspended or closed, not '{status}'")
        if target.parent_sid is None:
            raise InvalidParameter(20001, "The status of a main account cannot be changed through the API")
        if principal.sid != target.parent_sid:
            raise PermissionDenied("Only the parent account can change a subaccount's status")
        if target.status == "closed":
            raise InvalidParameter(20001, f"Account {target.sid} is closed, and closing is final")
        values["status"] = status
    if values:
        values["date_updated"] = dates.now()
        await conn.execute(update(accounts).where(accounts.c.sid == target.sid).values(**values))
        if values.get("status") == "closed":
            # Twilio releases a closed subaccount's numbers: they take no more messages, and are for sale again.
            numbers = incoming_phone_numbers
            await conn.execute(delete(numbers).where(numbers.c.account_sid == target.sid))
        credentials.changed()
    return await get(conn, box, target.sid) or target


def can_send(account: Account) -> bool:
    return account.status == "active"


async def ensure_active(conn: Conn, account_sid: str, doing: str) -> None:
    """Refuse a change to a suspended or closed account (``doing`` says what), as Twilio does: 403, 20005.

    The status is read in the caller's write transaction, not from the credential cache, and on PostgreSQL it
    stays locked (``FOR SHARE``) until that transaction ends, so a concurrent suspension or closing waits for it
    (and a closing then releases a number bought meanwhile). SQLite's writers run one at a time anyway.

    A suspended account still reads, releases its numbers and deletes its applications and keys (a leaked key
    must stay revocable); its parent can move its numbers out, reactivate it or close it.
    """
    status = (await conn.execute(select(accounts.c.status).where(accounts.c.sid == account_sid)
                                 .with_for_update(read=True))).scalar()
    if status != "active":
        raise TwilioApiError(20005, f"Account not active: {account_sid} is {status or 'gone'} and cannot {doing}",
                             403)


def render(account: Account, *, with_token: bool) -> dict[str, Any]:
    base = f"/{API_VERSION}/Accounts/{account.sid}"
    return {
        "auth_token": account.auth_token if with_token else None,
        "date_created": dates.rfc2822(account.date_created),
        "date_updated": dates.rfc2822(account.date_updated),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.parent_sid or account.sid,
        "sid": account.sid,
        "status": account.status,
        "subresource_uris": {
            "available_phone_numbers": f"{base}/AvailablePhoneNumbers.json",
            "incoming_phone_numbers": f"{base}/IncomingPhoneNumbers.json",
            "messages": f"{base}/Messages.json",
            "applications": f"{base}/Applications.json",
            "keys": f"{base}/Keys.json",
            "usage": f"{base}/Usage.json",
            "balance": f"{base}/Balance.json",
        },
        "type": account.type,
        "uri": account.uri,
    }


def _from_row(row: Any, box: SecretBox) -> Account:
    return Account(
        sid=row["sid"],
        parent_sid=row["parent_sid"],
        friendly_name=row["friendly_name"],
        status=row["status"],
        type=row["type"],
        auth_token=box.open(row["auth_token_sealed"]),
        is_main=bool(row["is_main"]),
        date_created=dates.as_utc(row["date_created"]),
        date_updated=dates.as_utc(row["date_updated"]),
    )
