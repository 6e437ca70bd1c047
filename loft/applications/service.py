"""Applications: create, configure, list, delete. Deleting one unlinks it from the numbers that used it.
A suspended or closed account creates and changes none (403, 20005), but may delete them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, delete, select, update

from loft.accounts import service as account_service
from loft.accounts.service import API_VERSION, Account
from loft.db import pages
from loft.db.engine import Conn
from loft.db.tables import applications, incoming_phone_numbers
from loft.errors import InvalidParameter, NotFound, NotImplementedByLoft
from loft.kit import dates, forms, paging, sids, urls

_URLS = {"SmsUrl": "sms_url", "SmsFallbackUrl": "sms_fallback_url", "SmsStatusCallback": "sms_status_callback",
         "MessageStatusCallback": "message_status_callback", "VoiceUrl": "voice_url",
         "VoiceFallbackUrl": "voice_fallback_url", "StatusCallback": "status_callback"}
_METHODS = {"SmsMethod": "sms_method", "SmsFallbackMethod": "sms_fallback_method", "VoiceMethod": "voice_method",
            "VoiceFallbackMethod": "voice_fallback_method", "StatusCallbackMethod": "status_callback_method"}
_FLAGS = {"VoiceCallerIdLookup": "voice_caller_id_lookup",
          "PublicApplicationConnectEnabled": "public_application_connect_enabled"}


def settings_from(form: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "FriendlyName" in form:
        if len(form["FriendlyName"]) > 64:
            raise InvalidParameter(20001, "FriendlyName must be at most 64 characters long")
        values["friendly_name"] = form["FriendlyName"]
    for parameter, column in _URLS.items():
        if parameter in form:
            values[column] = urls.optional(form[parameter], parameter)
    for parameter, column in _METHODS.items():
        if parameter in form:
            values[column] = forms.method(form, parameter)
    for parameter, column in _FLAGS.items():
        if parameter in form:
            values[column] = forms.boolean(form, parameter)
    if form.get("ApiVersion") not in (None, "", API_VERSION):
        raise NotImplementedByLoft("ApiVersion", f"Loft speaks only {API_VERSION}")
    return values


async def create(conn: Conn, account: Account, form: Mapping[str, str]) -> Row[Any]:
    await account_service.ensure_active(conn, account.sid, "create applications")
    moment = dates.now()
    sid = sids.new("AP")
    values: dict[str, Any] = {
        "sid": sid, "account_sid": account.sid, "friendly_name": sid, "sms_method": "POST",
        "sms_fallback_method": "POST", "voice_method": "POST", "voice_fallback_method": "POST",
        "status_callback_method": "POST", "voice_caller_id_lookup": False,
        "public_application_connect_enabled": True, "date_created": moment, "date_updated": moment,
        **settings_from(form),
    }
    await conn.execute(applications.insert().values(**values))
    return await get(conn, account, sid)


async def get(conn: Conn, account: Account, sid: str) -> Row[Any]:
    row = (
        await conn.execute(select(applications).where(applications.c.sid == sid,
                                                      applications.c.account_sid == account.sid))
    ).first()
    if row is None:
        raise NotFound()
    return row


async def exists(conn: Conn, account_sid: str, sid: str) -> bool:
    found = await conn.execute(
        select(applications.c.sid).where(applications.c.sid == sid, applications.c.account_sid == account_sid)
    )
    return found.first() is not None


async def configure(conn: Conn, account: Account, sid: str, form: Mapping[str, str]) -> Row[Any]:
    await get(conn, account, sid)
    await account_service.ensure_active(conn, account.sid, "change its applications")
    values = settings_from(form)
    if values:
        values["date_updated"] = dates.now()
        await conn.execute(update(applications).where(applications.c.sid == sid).values(**values))
    return await get(conn, account, sid)


async def remove(conn: Conn, account: Account, sid: str) -> None:
    await get(conn, account, sid)
    numbers = incoming_phone_numbers
    await conn.execute(update(numbers).where(numbers.c.sms_application_sid == sid).values(sms_application_sid=None))
    await conn.execute(
        update(numbers).where(numbers.c.voice_application_sid == sid).values(voice_application_sid=None)
    )
    await conn.execute(delete(applications).where(applications.c.sid == sid))


async def page(conn: Conn, account: Account, query: Any,
               request: paging.PageRequest) -> tuple[list[Row[Any]], bool]:
    where = [applications.c.account_sid == account.sid]
    if query.get("FriendlyName"):
        where.append(applications.c.friendly_name == query["FriendlyName"])
    return await pages.fetch(conn, applications, where=where, order=("date_created", "sid"), descending=False,
                             request=request)


def render(row: Row[Any]) -> dict[str, Any]:
    r = row._mapping
    return {
        "account_sid": r["account_sid"],
        "api_version": API_VERSION,
        "date_created": dates.rfc2822(r["date_created"]),
        "date_updated": dates.rfc2822(r["date_updated"]),
        "friendly_name": r["friendly_name"],
        "message_status_callback": r["message_status_callback"],
        "sid": r["sid"],
        "sms_fallback_method": r["sms_fallback_method"],
        "sms_fallback_url": r["sms_fallback_url"],
        "sms_method": r["sms_method"],
        "sms_status_callback": r["sms_status_callback"],
        "sms_url": r["sms_url"],
        "status_callback": r["status_callback"],
        "status_callback_method": r["status_callback_method"],
        "uri": f"/{API_VERSION}/Accounts/{r['account_sid']}/Applications/{r['sid']}.json",
        "voice_caller_id_lookup": r["voice_caller_id_lookup"],
        "voice_fallback_method": r["voice_fallback_method"],
        "voice_fallback_url": r["voice_fallback_url"],
        "voice_method": r["voice_method"],
        "voice_url": r["voice_url"],
        "public_application_connect_enabled": r["public_application_connect_enabled"],
    }
