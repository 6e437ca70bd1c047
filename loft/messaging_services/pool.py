"""A Messaging Service's sender pool: its phone numbers, short codes, alphanumeric senders and channel senders.

Adding a sender, Twilio's rules and codes:

- a **phone number** (``PhoneNumberSid``) must be one of the service's account's numbers (else 21421, which
  also answers a malformed SID), able to send SMS (21715), in no other service (21712; added again to the same
  service it is answered 200 with the pool's record, Twilio's warning 80104); a pool holds at most
  :data:`MAX_NUMBERS` phone numbers and short codes together (21714);
- a **short code** (``ShortCodeSid``) likewise, but Loft provisions no short codes, so there is none to add (21421);
- an **alphanumeric sender** (``AlphaSender``): up to 11 of A–Z, a–z, 0–9, space, ``-``, ``+``, ``_``, ``&``, not
  only digits (20001); a service has one at most (20001: delete it to add another);
- a **destination alphanumeric sender** (``AlphaSender``, ``IsoCountryCode``): the same, for one country (or, with
  no country, for any); the same one twice in a service is refused (20001);
- a **channel sender** (``Sid``, ``XE…``) must be one of the account's RCS senders (:mod:`loft.senders`; else
  21421), in no pool yet (21712).

A pool's senders are all of its service's account. A number released or moved to another account leaves the pool,
and so does every sender of a deleted service. :func:`for_recipient` is the pool as the delivery side sees it when
it picks the sender of a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import phonenumbers
from sqlalchemy import Row, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from loft.accounts import service as account_service
from loft.accounts.service import Account
from loft.db import pages
from loft.db.engine import Conn
from loft.db.prepared import Prepared
from loft.db.tables import incoming_phone_numbers as numbers
from loft.db.tables import messaging_service_senders as senders
from loft.errors import InvalidParameter, NotFound
from loft.kit import dates, paging, phone, sids, v1
from loft.messaging_services import service as services
from loft.messaging_services.service import Service
from loft.senders import service as channel_senders

Kind = Literal["phone_number", "short_code", "alpha_sender", "destination_alpha_sender", "channel_sender"]

#: Phone numbers and short codes a pool may hold together: Twilio's default limit.
MAX_NUMBERS: Final = 400
_COUNTED: Final[tuple[Kind, ...]] = ("phone_number", "short_code")
_ALPHA = re.compile(r"^[A-Za-z0-9 +_&-]{1,11}$")
#: A channel sender's address prefix → its ``sender_type``.
_CHANNELS: Final = {"rcs": "RCS", "whatsapp": "WhatsApp", "messenger": "Messenger"}


@dataclass(frozen=True, slots=True)
class Collection:
    """How a kind of sender is served: its path under ``/v1/Services/{Sid}``, its list's key, and the name of the
    service's SID in its records."""

    path: str
    key: str
    service_field: str = "service_sid"


COLLECTIONS: Final[dict[Kind, Collection]] = {
    "phone_number": Collection("PhoneNumbers", "phone_numbers"),
    "short_code": Collection("ShortCodes", "short_codes"),
    "alpha_sender": Collection("AlphaSenders", "alpha_senders"),
    "destination_alpha_sender": Collection("DestinationAlphaSenders", "alpha_senders"),
    "channel_sender": Collection("ChannelSenders", "senders", service_field="messaging_service_sid"),
}


@dataclass(frozen=True, slots=True)
class Sender:
    """One sender of a pool."""

    sid: str
    service_sid: str
    account_sid: str
    kind: Kind
    #: What a message's ``from`` becomes: ``+E164``, a short code's digits, an alphanumeric ID, a channel address.
    address: str
    #: ISO 3166 alpha-2: a number's or short code's country; the one country a destination alpha sender is for
    #: (None: any country; an AlphaSender's is always None).
    country: str | None
    #: Twilio's names: ``MMS``, ``SMS``, ``Voice``.
    capabilities: tuple[str, ...]
    date_created: datetime
    date_updated: datetime

    @classmethod
    def of(cls, row: Row[Any]) -> Sender:
        r = row._mapping
        return cls(sid=r["sid"], service_sid=r["service_sid"], account_sid=r["account_sid"], kind=r["kind"],
                   address=r["address"], country=r["country"], capabilities=tuple(r["capabilities"]),
                   date_created=dates.as_utc(r["date_created"]), date_updated=dates.as_utc(r["date_updated"]))


@dataclass(frozen=True, slots=True)
class Pool:
    """A service's senders that can send to one recipient, by kind, each in the order they joined the pool.

    Only what holds whatever the service's settings is applied here: a short code sends in its own country, a
    destination alpha sender for its country (or any). Choosing among them (sticky sender, geomatch, country
    match, the order of kinds) is the delivery side's.
    """

    #: The recipient's country (ISO 3166 alpha-2), if its number has one.
    recipient_country: str | None
    #: Every phone number of the pool, whatever its country.
    phone_numbers: tuple[Sender, ...]
    #: The short codes of the recipient's country.
    short_codes: tuple[Sender, ...]
    #: The destination alpha senders for the recipient's country, then those for any country.
    destination_alpha_senders: tuple[Sender, ...]
    #: The service's AlphaSender, if it has one.
    alpha_senders: tuple[Sender, ...]
    #: Channel senders (RCS agents, ``rcs:<agent>``).
    channel_senders: tuple[Sender, ...]


async def for_recipient(conn: Conn, service: Service, recipient: str) -> Pool:
    """The senders of ``service``'s pool that can send to ``recipient`` (E.164), by kind."""
    country = phone.country(recipient)
    rows = (await conn.execute(select(senders).where(senders.c.service_sid == service.sid)
                               .order_by(senders.c.date_created, senders.c.sid))).all()
    found = [Sender.of(row) for row in rows]

    def of_kind(kind: Kind) -> tuple[Sender, ...]:
        return tuple(sender for sender in found if sender.kind == kind)

    destination = of_kind("destination_alpha_sender")
    return Pool(
        recipient_country=country,
        phone_numbers=of_kind("phone_number"),
        short_codes=tuple(sender for sender in of_kind("short_code") if sender.country == country),
        destination_alpha_senders=(tuple(s for s in destination if s.country is not None and s.country == country)
                                   + tuple(s for s in destination if s.country is None)),
        alpha_senders=of_kind("alpha_sender"),
        channel_senders=of_kind("channel_sender"),
    )


async def has_senders(conn: Conn, service_sid: str) -> bool:
    """Whether the service's pool holds any sender at all."""
    found = (await conn.execute(select(senders.c.sid).where(senders.c.service_sid == service_sid).limit(1))).first()
    return found is not None


async def service_of(conn: Conn, sender_sid: str) -> str | None:
    """The SID of the service whose pool holds the sender ``sender_sid`` (a number's ``PN…`` …), if any."""
    found: str | None = (await conn.execute(select(senders.c.service_sid)
                                            .where(senders.c.sid == sender_sid))).scalar()
    return found


_SERVICE_OF_NUMBER = Prepared(
    select(senders.c.service_sid).select_from(numbers.join(senders, senders.c.sid == numbers.c.sid))
    .where(numbers.c.phone_number == bindparam("number"), numbers.c.account_sid == bindparam("account_sid"))
)


async def service_of_number(conn: Conn, account_sid: str, number: str) -> str | None:
    """The SID of the service whose pool holds ``account_sid``'s number ``number`` (E.164), if any: what an inbound
    message to it is routed by. One statement, on the numbers' unique ``phone_number`` and the pool's key."""
    found: str | None = (await conn.execute(_SERVICE_OF_NUMBER, {"number": number, "account_sid": account_sid})
                         ).scalar()
    return found


_SERVICE_OF_CHANNEL_SENDER = Prepared(
    select(senders.c.service_sid).where(senders.c.kind == "channel_sender", senders.c.address == bindparam("address"),
                                        senders.c.account_sid == bindparam("account_sid"))
)


async def service_of_channel_sender(conn: Conn, account_sid: str, sender_id: str) -> str | None:
    """The SID of the service whose pool holds ``account_sid``'s channel sender ``sender_id`` (``rcs:<agent>``), if
    any: what a message a handset sends to it (a reply, a tap) is routed by, as a pool number's are."""
    found: str | None = (await conn.execute(_SERVICE_OF_CHANNEL_SENDER,
                                            {"address": sender_id, "account_sid": account_sid})).scalar()
    return found


async def channel_senders_of(conn: Conn, service_sids: Iterable[str]) -> dict[str, list[str]]:
    """The channel senders' addresses (``rcs:<agent>``) in each of the services' pools, by service SID (a service
    with none is left out), in one query."""
    wanted = sorted(service_sids)
    if not wanted:
        return {}
    found = await conn.execute(select(senders.c.service_sid, senders.c.address)
                               .where(senders.c.kind == "channel_sender", senders.c.service_sid.in_(wanted))
                               .order_by(senders.c.date_created, senders.c.sid))
    held: dict[str, list[str]] = {}
    for row in found.all():
        held.setdefault(row.service_sid, []).append(row.address)
    return held


# Adding senders ------------------------------------------------------------------------------------------------


async def add_number(conn: Conn, account: Account, service_sid: str, number_sid: str
                     ) -> tuple[Sender, bool]:
    """Add the account's number ``number_sid`` to the pool; the sender, and whether it is new to the pool."""
    service = await _changing(conn, account, service_sid)
    number_sid = number_sid.strip()
    if not number_sid:
        raise InvalidParameter(20001, "Missing required parameter PhoneNumberSid in the post body")
    number = None
    if sids.is_sid(number_sid, "PN"):
        number = (await conn.execute(select(numbers).where(numbers.c.sid == number_sid,
                                                           numbers.c.account_sid == account.sid))).first()
    if number is None:
        raise InvalidParameter(21421, f"PhoneNumberSid {number_sid} is not a phone number of account {account.sid}")
    present = await _present(conn, number_sid)
    if present is not None:
        if present.service_sid == service.sid:
            return present, False
        raise InvalidParameter(21712, f"Phone number {number.phone_number} is associated with another Messaging "
                                      f"Service ({present.service_sid})")
    if not number.capability_sms:
        raise InvalidParameter(21715, f"Phone number {number.phone_number} cannot send SMS, so it cannot join a "
                                      "Messaging Service")
    await _ensure_room(conn, service)
    added = await _insert(conn, service, sid=number_sid, kind="phone_number", address=number.phone_number,
                          country=phone.country(number.phone_number), number_sid=number_sid,
                          capabilities=v1.capabilities(voice=number.capability_voice, sms=number.capability_sms,
                                                       mms=number.capability_mms),
                          taken=f"Phone number {number.phone_number} is associated with another Messaging Service")
    return added, True


async def add_short_code(conn: Conn, account: Account, service_sid: str, short_code_sid: str
                         ) -> Sender:
    """Loft provisions no short codes: whatever ``short_code_sid`` is, it is not one of the account's."""
    await _changing(conn, account, service_sid)
    short_code_sid = short_code_sid.strip()
    if not short_code_sid:
        raise InvalidParameter(20001, "Missing required parameter ShortCodeSid in the post body")
    raise InvalidParameter(21421, f"ShortCodeSid {short_code_sid} is not a short code of account {account.sid} "
                                  "(Loft provisions no short codes)")


async def add_channel_sender(conn: Conn, account: Account, service_sid: str, sender_sid: str
                             ) -> Sender:
    """Add the account's channel sender ``sender_sid`` (an RCS sender, ``XE…``, :mod:`loft.senders`) to the pool."""
    service = await _changing(conn, account, service_sid)
    sender_sid = sender_sid.strip()
    if not sender_sid:
        raise InvalidParameter(20001, "Missing required parameter Sid in the post body")
    channel_sender = await channel_senders.find(conn, account.sid, sender_sid)
    if channel_sender is None:
        raise InvalidParameter(21421, f"Sid {sender_sid} is not a channel sender of account {account.sid}")
    present = await _present(conn, sender_sid)
    if present is not None:
        raise InvalidParameter(21712, f"Sender {channel_sender.sender_id} is associated with a Messaging Service "
                                      f"already ({present.service_sid})")
    return await _insert(conn, service, sid=sender_sid, kind="channel_sender", address=channel_sender.sender_id,
                         country=None, capabilities=[],
                         taken=f"Sender {channel_sender.sender_id} is associated with another Messaging Service")


async def add_alpha_sender(conn: Conn, account: Account, service_sid: str, alpha_sender: str
                           ) -> Sender:
    """Give the service its one AlphaSender (an alphanumeric ID for every country that takes one)."""
    service = await _changing(conn, account, service_sid)
    alpha = _alpha(alpha_sender)
    held = (await conn.execute(select(senders.c.sid).where(senders.c.service_sid == service.sid,
                                                           senders.c.kind == "alpha_sender"))).scalar()
    if held is not None:
        raise InvalidParameter(20001, f"Messaging Service {service.sid} has an AlphaSender already ({held}); "
                                      "delete it to add another")
    return await _insert(conn, service, sid=sids.new("AI"), kind="alpha_sender", address=alpha, country=None,
                         capabilities=["SMS"])


async def add_destination_alpha_sender(conn: Conn, account: Account, service_sid: str, alpha_sender: str,
                                       iso_country_code: str | None) -> Sender:
    """Add an alphanumeric ID for the country ``iso_country_code`` (empty or None: for any country)."""
    service = await _changing(conn, account, service_sid)
    alpha = _alpha(alpha_sender)
    country = _country(iso_country_code)
    same_country = senders.c.country.is_(None) if country is None else senders.c.country == country
    held = (await conn.execute(select(senders.c.sid).where(senders.c.service_sid == service.sid,
                                                           senders.c.kind == "destination_alpha_sender",
                                                           senders.c.address == alpha, same_country))).scalar()
    if held is not None:
        raise InvalidParameter(20001, f"Messaging Service {service.sid} has the DestinationAlphaSender '{alpha}' for "
                                      f"{country or 'any country'} already ({held})")
    return await _insert(conn, service, sid=sids.new("AI"), kind="destination_alpha_sender", address=alpha,
                         country=country, capabilities=["SMS"])


# Reading and removing ------------------------------------------------------------------------------------------


async def get(conn: Conn, account: Account, service_sid: str, kind: Kind, sid: str) -> Sender:
    """The sender ``sid`` of that kind in the account's service ``service_sid``; 20404 otherwise."""
    await services.get(conn, account.sid, service_sid)
    row = (await conn.execute(select(senders).where(senders.c.sid == sid, senders.c.service_sid == service_sid,
                                                    senders.c.kind == kind))).first()
    if row is None:
        raise NotFound()
    return Sender.of(row)


async def remove(conn: Conn, account: Account, service_sid: str, kind: Kind, sid: str) -> None:
    """Take the sender out of the pool (a number stays the account's)."""
    await get(conn, account, service_sid, kind, sid)
    await conn.execute(delete(senders).where(senders.c.sid == sid))


async def page(conn: Conn, account: Account, service_sid: str, kind: Kind, request: paging.PageRequest, *, country: str | None = None) -> tuple[list[Sender], bool]:
    """A page of the pool's senders of ``kind``, in the order they joined it; ``country``: the destination alpha
    senders for that country only."""
    await services.get(conn, account.sid, service_sid)
    where = [senders.c.service_sid == service_sid, senders.c.kind == kind]
    if country is not None:
        where.append(senders.c.country == _country(country))
    rows, more = await pages.fetch(conn, senders, where=where, order=("date_created", "sid"), descending=False,
                                   request=request)
    return [Sender.of(row) for row in rows], more


async def forget_number(conn: Conn, number_sid: str) -> None:
    """Take the number out of any pool (it is moving to another account)."""
    await conn.execute(delete(senders).where(senders.c.number_sid == number_sid))


def render(sender: Sender, origin: str) -> dict[str, Any]:
    """The sender as its collection's records show it."""
    collection = COLLECTIONS[sender.kind]
    data: dict[str, Any] = {"sid": sender.sid, "account_sid": sender.account_sid,
                            collection.service_field: sender.service_sid,
                            "date_created": v1.date(sender.date_created),
                            "date_updated": v1.date(sender.date_updated)}
    if sender.kind == "phone_number":
        data.update(phone_number=sender.address, country_code=sender.country)
    elif sender.kind == "short_code":
        data.update(short_code=sender.address, country_code=sender.country)
    elif sender.kind == "channel_sender":
        data.update(sender=sender.address, sender_type=_CHANNELS.get(sender.address.partition(":")[0]),
                    country_code=sender.country)
    else:
        data["alpha_sender"] = sender.address
        if sender.kind == "destination_alpha_sender":
            data["iso_country_code"] = sender.country or ""
    if sender.kind != "channel_sender":
        data["capabilities"] = list(sender.capabilities)
    data["url"] = f"{services.url(origin, sender.service_sid)}/{collection.path}/{sender.sid}"
    return data


# Helpers -------------------------------------------------------------------------------------------------------


async def _changing(conn: Conn, account: Account, service_sid: str) -> Service:
    """The account's service whose pool is about to change, locked until the transaction ends (PostgreSQL: two
    additions to one pool take turns, so that neither passes the limit or the one-per-service rules unseen)."""
    service = await services.get(conn, account.sid, service_sid, lock=True)
    await account_service.ensure_active(conn, account.sid, "change Messaging Services")
    return service


async def _present(conn: Conn, sid: str) -> Sender | None:
    row = (await conn.execute(select(senders).where(senders.c.sid == sid))).first()
    return Sender.of(row) if row is not None else None


async def _ensure_room(conn: Conn, service: Service) -> None:
    held = (await conn.execute(select(func.count()).select_from(senders)
                               .where(senders.c.service_sid == service.sid,
                                      senders.c.kind.in_(_COUNTED)))).scalar() or 0
    if held >= MAX_NUMBERS:
        raise InvalidParameter(21714, f"Messaging Service {service.sid} has {held} phone numbers and short codes, "
                                      f"the most a pool may hold ({MAX_NUMBERS})")


async def _insert(conn: Conn, service: Service, *, sid: str, kind: Kind, address: str, country: str | None,
                  capabilities: Sequence[str], number_sid: str | None = None, taken: str = "") -> Sender:
    moment = dates.now()
    try:
        await conn.execute(senders.insert().values(
            sid=sid, service_sid=service.sid, account_sid=service.account_sid, kind=kind, address=address,
            country=country, capabilities=list(capabilities), number_sid=number_sid, date_created=moment,
            date_updated=moment))
    except IntegrityError:  # added to another pool by a concurrent request between our check and our insert
        raise InvalidParameter(21712, taken or f"{sid} is associated with another Messaging Service") from None
    found = await _present(conn, sid)
    assert found is not None
    return found


def _alpha(text: str) -> str:
    alpha = text.strip()
    if not alpha:
        raise InvalidParameter(20001, "Missing required parameter AlphaSender in the post body")
    if not _ALPHA.match(alpha) or alpha.isdigit():
        raise InvalidParameter(20001, f"AlphaSender '{alpha}' is invalid: up to 11 letters, digits, spaces and "
                                      "- + _ &, not only digits")
    return alpha


def _country(text: str | None) -> str | None:
    """An ISO 3166 alpha-2 country code (any case), upper-cased; empty or None: no country."""
    code = (text or "").strip().upper()
    if not code:
        return None
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidParameter(20001, f"IsoCountryCode '{text}' is not an ISO 3166 country code")
    return code

