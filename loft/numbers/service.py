"""IncomingPhoneNumbers: buying (creating), configuring, listing and releasing an account's numbers."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from loft.accounts import service as account_service
from loft.accounts.service import API_VERSION, Account
from loft.db import pages
from loft.db.engine import Conn
from loft.db.prepared import Prepared, Record, among, list_length, values_of
from loft.db.tables import incoming_phone_numbers as numbers
from loft.errors import InvalidParameter, NotFound, NotImplementedByLoft
from loft.kit import dates, forms, paging, phone, sids, urls
from loft.messaging_services import pool
from loft.numbers import catalogue

#: Twilio's magic test numbers for buying: +15005550000 is never available, +15005550001 is invalid.
_UNAVAILABLE = "+15005550000"
_INVALID = "+15005550001"
_MAGIC_AVAILABLE = "+15005550006"
_EMPTY_AREA_CODE = "533"
_AREA_CODE = re.compile(r"^[2-9]\d{2}$")

#: Form parameter → column, for the plain string settings.
_URLS = {"SmsUrl": "sms_url", "SmsFallbackUrl": "sms_fallback_url", "StatusCallback": "status_callback",
         "VoiceUrl": "voice_url", "VoiceFallbackUrl": "voice_fallback_url"}
_METHODS = {"SmsMethod": "sms_method", "SmsFallbackMethod": "sms_fallback_method",
            "StatusCallbackMethod": "status_callback_method", "VoiceMethod": "voice_method",
            "VoiceFallbackMethod": "voice_fallback_method"}
_SIDS = {"SmsApplicationSid": ("sms_application_sid", "AP"), "VoiceApplicationSid": ("voice_application_sid", "AP"),
         "TrunkSid": ("trunk_sid", "TK"), "IdentitySid": ("identity_sid", "RI"), "AddressSid": ("address_sid", "AD"),
         "EmergencyAddressSid": ("emergency_address_sid", "AD"), "BundleSid": ("bundle_sid", "BU")}


def settings_from(form: Mapping[str, str]) -> dict[str, Any]:
    """The configurable fields present in a create or update form, validated, as column values."""
    values: dict[str, Any] = {}
    if "FriendlyName" in form:
        name = form["FriendlyName"]
        if len(name) > 64:
            raise InvalidParameter(20001, "FriendlyName must be at most 64 characters long")
        values["friendly_name"] = name
    for parameter, column in _URLS.items():
        if parameter in form:
            values[column] = urls.optional(form[parameter], parameter)
    for parameter, column in _METHODS.items():
        if parameter in form:
            values[column] = forms.method(form, parameter)
    for parameter, (column, prefix) in _SIDS.items():
        if parameter in form:
            value = form[parameter].strip()
            if value and not sids.is_sid(value, prefix):
                raise InvalidParameter(20001, f"{parameter} '{value}' is not a valid {prefix} SID")
            values[column] = value or None
    if "VoiceCallerIdLookup" in form:
        values["voice_caller_id_lookup"] = forms.boolean(form, "VoiceCallerIdLookup")
    if "VoiceReceiveMode" in form:
        values["voice_receive_mode"] = forms.choice(form, "VoiceReceiveMode", ("voice", "fax"))
    if "EmergencyStatus" in form:
        values["emergency_status"] = forms.choice(form, "EmergencyStatus", ("Active", "Inactive"))
    version = form.get("ApiVersion")
    if version not in (None, "", API_VERSION):
        raise NotImplementedByLoft("ApiVersion", f"Loft speaks only {API_VERSION}")
    return values


async def _check_applications(conn: Conn, account: Account, values: dict[str, Any]) -> None:
    """A number may only delegate to an Application of its own account."""
    from loft.applications import service as applications

    for column, parameter in (("sms_application_sid", "SmsApplicationSid"),
                              ("voice_application_sid", "VoiceApplicationSid")):
        sid = values.get(column)
        if sid and not await applications.exists(conn, account.sid, sid):
            raise InvalidParameter(20001, f"{parameter} {sid} is not an Application of account {account.sid}")


async def buy(conn: Conn, account: Account, form: Mapping[str, str], *, kind: catalogue.Kind | None = None) -> Row[Any]:
    """Buy ``PhoneNumber`` (or a number in ``AreaCode``); through ``…/Local``, ``…/Mobile`` or ``…/TollFree``
    (``kind``) the number must be of that kind, or it is not available there (21422). A suspended or closed
    account buys nothing (403, 20005)."""
    await account_service.ensure_active(conn, account.sid, "buy numbers")
    settings = settings_from(form)
    await _check_applications(conn, account, settings)
    wanted = form.get("PhoneNumber")
    area_code = form.get("AreaCode")
    if wanted:
        number = _purchasable(wanted)
        if await _owner(conn, number) is not None:
            raise InvalidParameter(21422, f"PhoneNumber {number} is not available")
        if kind is not None and number != _MAGIC_AVAILABLE and not catalogue.is_of_kind(number, kind):
            raise InvalidParameter(21422, f"PhoneNumber {number} is not available as a {kind.name} number")
    elif area_code:
        number = await _pick_in_area_code(conn, area_code.strip(), seed=account.sid, kind=kind)
    else:
        raise InvalidParameter(20001, "A 'PhoneNumber' or an 'AreaCode' is required to buy a number")
    capabilities = phone.capabilities(number)
    moment = dates.now()
    values: dict[str, Any] = {
        "sid": sids.new("PN"),
        "account_sid": account.sid,
        "phone_number": number,
        "friendly_name": phone.friendly(number),
        "number_type": (kind.stored if kind is not None else None) or phone.number_type(number),
        "origin": "twilio",
        "capability_voice": capabilities.voice,
        "capability_sms": capabilities.sms,
        "capability_mms": capabilities.mms,
        "capability_fax": capabilities.fax,
        "sms_method": "POST",
        "sms_fallback_method": "POST",
        "status_callback_method": "POST",
        "voice_method": "POST",
        "voice_fallback_method": "POST",
        "voice_caller_id_lookup": False,
        "voice_receive_mode": "voice",
        "address_requirements": "none",
        "emergency_status": "Inactive",
        "emergency_address_status": "unregistered",
        "date_created": moment,
        "date_updated": moment,
        **settings,
    }
    try:
        await conn.execute(numbers.insert().values(**values))
    except IntegrityError:  # bought by a concurrent request between our check and our insert
        raise InvalidParameter(21422, f"PhoneNumber {number} is not available") from None
    return await get(conn, account, values["sid"])


async def get(conn: Conn, account: Account, sid: str) -> Row[Any]:
    row = (
        await conn.execute(select(numbers).where(numbers.c.sid == sid, numbers.c.account_sid == account.sid))
    ).first()
    if row is None:
        raise NotFound()
    return row


@lru_cache(maxsize=None)
def _owned_among(numbers_: int, accounts: int) -> Prepared:
    return Prepared(select(numbers.c.account_sid, numbers.c.phone_number, numbers.c.sid, numbers.c.number_type,
                           numbers.c.capability_sms).where(among(numbers.c.phone_number, "number", numbers_),
                                                           among(numbers.c.account_sid, "account", accounts)))


async def owned_senders(conn: Conn, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], Record]:
    """Which of the (account SID, phone number) ``pairs`` are numbers of that account, in one query: each as a
    sender sees it (its SID, type and SMS capability), by pair."""
    if not pairs:
        return {}
    wanted = set(pairs)
    phone_numbers = sorted({number for _, number in wanted})
    accounts = sorted({account for account, _ in wanted})
    found = await conn.execute(_owned_among(list_length(len(phone_numbers)), list_length(len(accounts))),
                               {**values_of("number", phone_numbers), **values_of("account", accounts)})
    return {(row.account_sid, row.phone_number): row for row in found.all()
            if (row.account_sid, row.phone_number) in wanted}


async def configure(conn: Conn, account: Account, sid: str, form: Mapping[str, str], *, new_owner: Account | None = None) -> Row[Any]:
    """Update a number's settings; with ``new_owner``, move it to that account as well.

    A moved number keeps its sid and URLs, but not its Applications, which belong to the old account (unless
    the same request names Applications of the new one), nor its place in a Messaging Service's pool. A suspended account's numbers can only be moved out
    (by its parent); nothing moves into a suspended or closed account (403, 20005).
    """
    await get(conn, account, sid)
    if new_owner is None:
        await account_service.ensure_active(conn, account.sid, "change its numbers")
    else:
        await account_service.ensure_active(conn, new_owner.sid, "take numbers")
    values = settings_from(form)
    if new_owner is not None:
        values = {"sms_application_sid": None, "voice_application_sid": None, **values,
                  "account_sid": new_owner.sid}
        account = new_owner
        await pool.forget_number(conn, sid)  # a pool holds its own account's numbers only
    await _check_applications(conn, account, values)
    if values:
        values["date_updated"] = dates.now()
        await conn.execute(update(numbers).where(numbers.c.sid == sid).values(**values))
    return await get(conn, account, sid)


async def release(conn: Conn, account: Account, sid: str) -> None:
    await get(conn, account, sid)
    await conn.execute(delete(numbers).where(numbers.c.sid == sid))


async def page(conn: Conn, account: Account, query: Any, request: paging.PageRequest,
               *, number_type: str | None = None) -> tuple[list[Row[Any]], bool]:
    where = [numbers.c.account_sid == account.sid]
    if number_type is not None:  # …/IncomingPhoneNumbers/Local, /Mobile, /TollFree
        where.append(numbers.c.number_type == number_type)
    if query.get("PhoneNumber"):
        # Twilio matches the digits given anywhere in the number ("+1415", "867").
        digits = "".join(ch for ch in query["PhoneNumber"] if ch.isdigit() or ch == "*")
        pattern = digits.replace("*", "_")
        where.append(numbers.c.phone_number.like(f"%{pattern}%"))
    if query.get("FriendlyName"):
        where.append(numbers.c.friendly_name == query["FriendlyName"])
    if query.get("Origin"):
        where.append(numbers.c.origin == query["Origin"])
    beta = query.get("Beta")
    if beta is not None and beta.lower() not in ("true", "false"):
        raise InvalidParameter(20001, f"Beta must be true or false, not '{beta}'")
    return await pages.fetch(conn, numbers, where=where, order=("date_created", "sid"), descending=False,
                             request=request)


def render(row: Row[Any]) -> dict[str, Any]:
    r = row._mapping
    return {
        "account_sid": r["account_sid"],
        "address_sid": r["address_sid"],
        "address_requirements": r["address_requirements"],
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": {
            "voice": r["capability_voice"],
            "sms": r["capability_sms"],
            "mms": r["capability_mms"],
            "fax": r["capability_fax"],
        },
        "date_created": dates.rfc2822(r["date_created"]),
        "date_updated": dates.rfc2822(r["date_updated"]),
        "friendly_name": r["friendly_name"],
        "identity_sid": r["identity_sid"],
        "phone_number": r["phone_number"],
        "origin": r["origin"],
        "sid": r["sid"],
        "sms_application_sid": r["sms_application_sid"],
        "sms_fallback_method": r["sms_fallback_method"],
        "sms_fallback_url": r["sms_fallback_url"],
        "sms_method": r["sms_method"],
        "sms_url": r["sms_url"],
        "status_callback": r["status_callback"],
        "status_callback_method": r["status_callback_method"],
        "trunk_sid": r["trunk_sid"],
        "uri": f"/{API_VERSION}/Accounts/{r['account_sid']}/IncomingPhoneNumbers/{r['sid']}.json",
        "voice_receive_mode": r["voice_receive_mode"],
        "voice_application_sid": r["voice_application_sid"],
        "voice_caller_id_lookup": r["voice_caller_id_lookup"],
        "voice_fallback_method": r["voice_fallback_method"],
        "voice_fallback_url": r["voice_fallback_url"],
        "voice_method": r["voice_method"],
        "voice_url": r["voice_url"],
        "emergency_status": r["emergency_status"],
        "emergency_address_sid": r["emergency_address_sid"],
        "emergency_address_status": r["emergency_address_status"],
        "bundle_sid": r["bundle_sid"],
        "status": "in-use",
        "type": r["number_type"],
    }


def _purchasable(text: str) -> str:
    number = phone.e164(text)
    if number == _UNAVAILABLE:
        raise InvalidParameter(21422, f"PhoneNumber {number} is not available")
    if number is None or number == _INVALID or not phone.is_valid(number):
        raise InvalidParameter(21421, f"PhoneNumber {text} is invalid")
    return number


async def _owner(conn: Conn, number: str) -> str | None:
    owner: str | None = (
        await conn.execute(select(numbers.c.account_sid).where(numbers.c.phone_number == number))
    ).scalar()
    return owner


async def _pick_in_area_code(conn: Conn, area_code: str, *, seed: str, kind: catalogue.Kind | None = None) -> str:
    if not _AREA_CODE.match(area_code):
        raise InvalidParameter(21451, f"AreaCode {area_code} is invalid")
    if area_code != _EMPTY_AREA_CODE:
        for candidate in catalogue.in_area_code(area_code, seed=seed):
            if kind is not None and not catalogue.is_of_kind(candidate, kind):
                continue
            if await _owner(conn, candidate) is None:
                return candidate
    raise InvalidParameter(21452, f"No phone numbers found in area code {area_code}")
