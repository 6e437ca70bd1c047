"""Messaging Services: their settings, and creating, changing, listing and deleting them.

:class:`Service` is what the rest of Loft reads of a service (the delivery side when a message is sent through
one, inbound routing when a pool number receives one): :func:`find` gives it for an account, or None. A suspended
or closed account creates and changes none (403, 20005), but may delete them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final, TypedDict, cast

from sqlalchemy import Row, delete, select, update

from loft.accounts import service as account_service
from loft.accounts.service import Account
from loft.db import pages
from loft.db.engine import Conn
from loft.db.tables import messaging_service_senders as senders
from loft.db.tables import messaging_services as services
from loft.errors import InvalidParameter, NotFound
from loft.kit import dates, forms, paging, sids, urls, v1
from loft.messages import optout
from loft.messaging_services import usecases

MAX_FRIENDLY_NAME: Final = 64
#: A message sent through a service is valid this long (seconds) unless the service or the message says less.
MAX_VALIDITY: Final = 36000
SCAN_MESSAGE_CONTENT: Final = ("inherit", "enable", "disable")

#: The sub-resources a service links to (Twilio's ``links``; ``messages`` and the ``Compliance`` paths are not
#: served by Loft, as Twilio's spec has no operation for the first).
_LINKS: Final = {
    "phone_numbers": "PhoneNumbers",
    "short_codes": "ShortCodes",
    "alpha_senders": "AlphaSenders",
    "messages": "Messages",
    "us_app_to_person": "Compliance/Usa2p",
    "us_app_to_person_usecases": "Compliance/Usa2p/Usecases",
    "channel_senders": "ChannelSenders",
    "destination_alpha_senders": "DestinationAlphaSenders",
}


@dataclass(frozen=True, slots=True)
class Service:
    """A Messaging Service's settings, as stored."""

    sid: str
    account_sid: str
    friendly_name: str
    #: Where the pool's inbound messages go (signed, ``inbound_method``), then ``fallback_url``; None: nowhere.
    inbound_request_url: str | None
    inbound_method: str
    fallback_url: str | None
    fallback_method: str
    #: The status callback of a message sent through the service that names none itself.
    status_callback: str | None
    #: Keep sending to a recipient from the sender it was first sent from.
    sticky_sender: bool
    mms_converter: bool
    #: Replace Unicode look-alikes with GSM-7 characters (as a message's ``SmartEncoded``).
    smart_encoding: bool
    scan_message_content: str
    fallback_to_long_code: bool
    #: Prefer a pool number in the recipient's area code (US and Canada).
    area_code_geomatch: bool
    #: Seconds a message sent through the service may wait to leave (1 … 36000).
    validity_period: int
    synchronous_validation: bool
    usecase: str
    #: A pool number's own SmsUrl (or Application) wins over ``inbound_request_url``.
    use_inbound_webhook_on_number: bool
    date_created: datetime
    date_updated: datetime

    @classmethod
    def of(cls, row: Row[Any]) -> Service:
        r = row._mapping
        values = {field.name: r[field.name] for field in fields(cls)}
        return cls(**{**values, "date_created": dates.as_utc(r["date_created"]),
                      "date_updated": dates.as_utc(r["date_updated"])})


class Changes(TypedDict, total=False):
    """What a create or an update sets (absent: unchanged, or the default on create); each key a column."""

    friendly_name: str
    inbound_request_url: str | None
    inbound_method: str
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    sticky_sender: bool
    mms_converter: bool
    smart_encoding: bool
    scan_message_content: str
    fallback_to_long_code: bool
    area_code_geomatch: bool
    validity_period: int
    synchronous_validation: bool
    usecase: str
    use_inbound_webhook_on_number: bool


#: A new service's settings, Twilio's defaults.
DEFAULTS: Final[Changes] = {
    "inbound_request_url": None,
    "inbound_method": "POST",
    "fallback_url": None,
    "fallback_method": "POST",
    "status_callback": None,
    "sticky_sender": True,
    "mms_converter": True,
    "smart_encoding": True,
    "scan_message_content": "inherit",
    "fallback_to_long_code": False,
    "area_code_geomatch": True,
    "validity_period": MAX_VALIDITY,
    "synchronous_validation": True,
    "usecase": usecases.UNDECLARED,
    "use_inbound_webhook_on_number": False,
}

_URLS: Final = {"InboundRequestUrl": "inbound_request_url", "FallbackUrl": "fallback_url",
                "StatusCallback": "status_callback"}
_METHODS: Final = {"InboundMethod": "inbound_method", "FallbackMethod": "fallback_method"}
_FLAGS: Final = {"StickySender": "sticky_sender", "MmsConverter": "mms_converter", "SmartEncoding": "smart_encoding",
                 "FallbackToLongCode": "fallback_to_long_code", "AreaCodeGeomatch": "area_code_geomatch",
                 "SynchronousValidation": "synchronous_validation",
                 "UseInboundWebhookOnNumber": "use_inbound_webhook_on_number"}


def changes_from(form: Mapping[str, str], *, creating: bool) -> Changes:
    """What a create (``creating``: ``FriendlyName`` is required) or update form sets, validated."""
    values: dict[str, Any] = {}
    name = form.get("FriendlyName")
    if name is None and creating:
        raise InvalidParameter(20001, "Missing required parameter FriendlyName in the post body")
    if name is not None:
        if not name.strip():
            raise InvalidParameter(20001, "FriendlyName must not be empty")
        if len(name) > MAX_FRIENDLY_NAME:
            raise InvalidParameter(20001, f"FriendlyName must be at most {MAX_FRIENDLY_NAME} characters long")
        values["friendly_name"] = name
    for parameter, column in _URLS.items():
        if parameter in form:
            values[column] = urls.optional(form[parameter], parameter)
    for parameter, column in _METHODS.items():
        if parameter in form:
            values[column] = forms.method(form, parameter)
    for parameter, column in _FLAGS.items():
        flag = forms.boolean(form, parameter)
        if flag is not None:
            values[column] = flag
    if "ScanMessageContent" in form:
        values["scan_message_content"] = forms.choice(form, "ScanMessageContent", SCAN_MESSAGE_CONTENT)
    validity = forms.integer(form, "ValidityPeriod", low=1, high=MAX_VALIDITY)
    if validity is not None:
        values["validity_period"] = validity
    if "Usecase" in form:
        values["usecase"] = forms.choice(form, "Usecase", usecases.NAMES)
    return cast(Changes, values)


async def create(conn: Conn, account: Account, changes: Changes) -> Service:
    """A new service of ``account``: Twilio's defaults (:data:`DEFAULTS`) with ``changes``, which must name its
    ``friendly_name``."""
    await account_service.ensure_active(conn, account.sid, "create Messaging Services")
    moment = dates.now()
    sid = sids.new("MG")
    await conn.execute(services.insert().values(sid=sid, account_sid=account.sid, date_created=moment,
                                                date_updated=moment, **{**DEFAULTS, **changes}))
    return await get(conn, account.sid, sid)


async def find(conn: Conn, account_sid: str, sid: str, *, lock: bool = False) -> Service | None:
    """The service ``sid`` if it is ``account_sid``'s; ``lock``: on PostgreSQL, held until the transaction ends
    (its pool's changes take turns)."""
    if not sids.is_sid(sid, "MG"):
        return None
    statement = select(services).where(services.c.sid == sid, services.c.account_sid == account_sid)
    row = (await conn.execute(statement.with_for_update() if lock else statement)).first()
    return Service.of(row) if row is not None else None


async def find_many(conn: Conn, sids: Collection[str]) -> dict[str, Service]:
    """The services among ``sids``, whichever account's, by SID (the caller checks whose they are): one query."""
    rows = (await conn.execute(select(services).where(services.c.sid.in_(list(sids))))).all()
    return {row.sid: Service.of(row) for row in rows}


async def get(conn: Conn, account_sid: str, sid: str, *, lock: bool = False) -> Service:
    """:func:`find`, or 20404 naming ``path``: another account's service is not found either."""
    found = await find(conn, account_sid, sid, lock=lock)
    if found is None:
        raise NotFound()
    return found


async def change(conn: Conn, account: Account, sid: str, changes: Changes) -> Service:
    await get(conn, account.sid, sid)
    await account_service.ensure_active(conn, account.sid, "change Messaging Services")
    if changes:
        await conn.execute(update(services).where(services.c.sid == sid)
                           .values(**changes, date_updated=dates.now()))
    return await get(conn, account.sid, sid)


async def remove(conn: Conn, account: Account, sid: str) -> None:
    """Delete the service; its pool's senders are free again (a number may join another service), and its
    opt-outs go with it."""
    await get(conn, account.sid, sid)
    await conn.execute(delete(senders).where(senders.c.service_sid == sid))
    await optout.forget(conn, sid)
    await conn.execute(delete(services).where(services.c.sid == sid))


async def page(conn: Conn, account: Account, request: paging.PageRequest) -> tuple[list[Service], bool]:
    rows, more = await pages.fetch(conn, services, where=[services.c.account_sid == account.sid],
                                   order=("date_created", "sid"), descending=False, request=request)
    return [Service.of(row) for row in rows], more


def url(origin: str, sid: str) -> str:
    return f"{origin}/v1/Services/{sid}"


def render(service: Service, origin: str) -> dict[str, Any]:
    base = url(origin, service.sid)
    return {
        "sid": service.sid,
        "account_sid": service.account_sid,
        "friendly_name": service.friendly_name,
        "date_created": v1.date(service.date_created),
        "date_updated": v1.date(service.date_updated),
        "inbound_request_url": service.inbound_request_url,
        "inbound_method": service.inbound_method,
        "fallback_url": service.fallback_url,
        "fallback_method": service.fallback_method,
        "status_callback": service.status_callback,
        "sticky_sender": service.sticky_sender,
        "mms_converter": service.mms_converter,
        "smart_encoding": service.smart_encoding,
        "scan_message_content": service.scan_message_content,
        "fallback_to_long_code": service.fallback_to_long_code,
        "area_code_geomatch": service.area_code_geomatch,
        "synchronous_validation": service.synchronous_validation,
        "validity_period": service.validity_period,
        "url": base,
        "links": {key: f"{base}/{path}" for key, path in _LINKS.items()},
        "usecase": service.usecase,
        # Loft registers no A2P campaigns.
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
    }
