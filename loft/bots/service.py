"""Bot connections: an account's botbuilder bots, each reached at its ``MessagingEndpoint`` (``/api/messages``).

A connection gives two Loft URLs, both capabilities of the bot's own:

- ``sms_url``, to set as a TwiML App's (or a number's) ``SmsUrl`` exactly as Azure's Twilio channel is set up;
  it takes only requests signed with the owning account's auth token (:mod:`loft.bots.endpoints`);
- the connector (the Activities' ``serviceUrl``), where the bot sends its replies. Its path holds a key derived
  from the installation's secret key and the bot's sid (:func:`connector_key`): a bot without an app id calls
  it with no token at all (botbuilder's local mode), so the key is what tells its calls from anybody's.

``MicrosoftAppPassword`` is sealed at rest (:mod:`loft.kit.crypto`) and never rendered.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, delete, select, update

from loft.accounts import service as account_service
from loft.accounts.service import Account
from loft.db import pages
from loft.db.engine import Conn
from loft.db.tables import bots
from loft.errors import InvalidParameter, NotFound
from loft.kit import crypto, dates, paging, sids, urls, v1
from loft.kit.crypto import SecretBox

_TEXT = {"FriendlyName": "friendly_name", "MicrosoftAppId": "microsoft_app_id",
         "MicrosoftAppTenantId": "microsoft_app_tenant_id"}
_MAX_TEXT = 255


def settings_from(form: Mapping[str, str], box: SecretBox, *, creating: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for parameter, column in _TEXT.items():
        if parameter in form:
            if len(form[parameter]) > _MAX_TEXT:
                raise InvalidParameter(20001, f"{parameter} must be at most {_MAX_TEXT} characters long")
            values[column] = form[parameter].strip() or None
    if "MessagingEndpoint" in form or creating:
        endpoint = urls.optional(form.get("MessagingEndpoint", ""), "MessagingEndpoint")
        if endpoint is None:
            raise InvalidParameter(20001, "MessagingEndpoint is required: the bot's /api/messages URL")
        values["messaging_endpoint"] = endpoint
    if "MicrosoftAppPassword" in form:
        password = form["MicrosoftAppPassword"]
        values["microsoft_app_password_sealed"] = box.seal(password) if password else None
    return values


async def create(conn: Conn, box: SecretBox, account: Account, form: Mapping[str, str]) -> Row[Any]:
    await account_service.ensure_active(conn, account.sid, "connect bots")
    moment = dates.now()
    sid = sids.new("BT")
    values = settings_from(form, box, creating=True)
    if values.get("microsoft_app_id") and not values.get("microsoft_app_password_sealed"):
        raise InvalidParameter(20001, "MicrosoftAppPassword is required with MicrosoftAppId (the bot's credentials "
                                      "for its tokens)")
    values.setdefault("friendly_name", None)
    values["friendly_name"] = values["friendly_name"] or sid
    await conn.execute(bots.insert().values(sid=sid, account_sid=account.sid, date_created=moment,
                                            date_updated=moment, **values))
    return await get(conn, account.sid, sid)


async def get(conn: Conn, account_sid: str, sid: str) -> Row[Any]:
    row = (await conn.execute(select(bots).where(bots.c.sid == sid, bots.c.account_sid == account_sid))).first()
    if row is None:
        raise NotFound()
    return row


async def find(conn: Conn, sid: str) -> Row[Any] | None:
    return (await conn.execute(select(bots).where(bots.c.sid == sid))).first()


async def configure(conn: Conn, box: SecretBox, account: Account, sid: str, form: Mapping[str, str]) -> Row[Any]:
    await get(conn, account.sid, sid)
    await account_service.ensure_active(conn, account.sid, "change its bots")
    values = settings_from(form, box, creating=False)
    if "friendly_name" in values and values["friendly_name"] is None:
        values["friendly_name"] = sid
    if values:
        values["date_updated"] = dates.now()
        await conn.execute(update(bots).where(bots.c.sid == sid).values(**values))
    return await get(conn, account.sid, sid)


async def remove(conn: Conn, account: Account, sid: str) -> None:
    await get(conn, account.sid, sid)
    await conn.execute(delete(bots).where(bots.c.sid == sid))


async def page(conn: Conn, account: Account, request: paging.PageRequest) -> tuple[list[Row[Any]], bool]:
    return await pages.fetch(conn, bots, where=[bots.c.account_sid == account.sid], order=("date_created", "sid"),
                             descending=False, request=request)


def connector_key(box: SecretBox, sid: str) -> str:
    """The key in the bot's connector URL: whoever calls it with this key speaks for the bot."""
    return base64.urlsafe_b64encode(box.derive(f"bot-connector:{sid}")).decode("ascii").rstrip("=")[:32]


def is_connector_key(box: SecretBox, sid: str, key: str) -> bool:
    return crypto.same(connector_key(box, sid), key)


def sms_url(origin: str, row: Row[Any]) -> str:
    return f"{origin}/loft/v1/Accounts/{row.account_sid}/Bots/{row.sid}/Sms"


def connector_url(origin: str, box: SecretBox, sid: str) -> str:
    """The Activities' ``serviceUrl`` (with its trailing ``/``: botbuilder appends ``v3/…``)."""
    return f"{origin}/loft/botframework/{sid}/{connector_key(box, sid)}/"


def render(row: Row[Any], origin: str, box: SecretBox) -> dict[str, Any]:
    r = row._mapping
    return {
        "sid": r["sid"],
        "account_sid": r["account_sid"],
        "friendly_name": r["friendly_name"],
        "messaging_endpoint": r["messaging_endpoint"],
        "microsoft_app_id": r["microsoft_app_id"],
        "microsoft_app_tenant_id": r["microsoft_app_tenant_id"],
        "sms_url": sms_url(origin, row),
        "service_url": connector_url(origin, box, r["sid"]),
        "date_created": v1.date(r["date_created"]),
        "date_updated": v1.date(r["date_updated"]),
        "url": f"{origin}/loft/v1/Accounts/{r['account_sid']}/Bots/{r['sid']}",
    }
