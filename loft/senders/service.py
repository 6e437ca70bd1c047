"""RCS channel senders (``XE…``): creating, changing, listing and deleting them, and bringing them online.

A sender is an RCS agent, ``sender_id`` ``rcs:<agent>`` (letters, digits, ``_`` and ``-``, up to
:data:`MAX_AGENT` characters), unique in Loft as in Twilio (a second one with the same id: 20001). Its ``profile``
(what a handset shows of the business: name, description, logo, colours, phone numbers, emails, websites …) and
``webhook`` (``callback_url``, ``fallback_url``, ``status_callback_url`` and their methods, ``POST`` unless given)
are Twilio's fields, checked and stored as given (``null``: not given). WhatsApp senders (``whatsapp:+…``) need Meta, which Loft does
not have: refused, saying so.

Status: Twilio answers a create ``202`` with ``CREATING`` while Google and the carriers launch the agent; the
simulator launches it at once. The create records an outbox job (:data:`ONLINE_JOB`, due
:data:`LAUNCH_SECONDS` later by Loft's clock) in its own transaction, and the job moves the sender to
``ONLINE`` (:func:`bring_online`) — a worker's job, no thread waiting, and an advance of the simulator's clock
brings it forward.

Deleting a sender takes it out of any Messaging Service's pool (its channel senders).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError

from loft.accounts import service as account_service
from loft.accounts.service import Account
from loft.db import owned
from loft.db.engine import Conn
from loft.db.tables import channel_senders as senders
from loft.db.tables import messaging_service_senders as pools
from loft.delivery import outbox
from loft.errors import InvalidParameter, NotFound, NotImplementedByLoft
from loft.kit import dates, paging, sids, urls

#: The outbox job that brings a new sender online.
ONLINE_JOB: Final = "channel_sender_online"
#: How long (by Loft's clock) a new sender stays ``CREATING`` in the simulator.
LAUNCH_SECONDS: Final = 1
CREATING: Final = "CREATING"
ONLINE: Final = "ONLINE"
MAX_AGENT: Final = 60
_AGENT: Final = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_AGENT}}}$")
_COLOR: Final = re.compile(r"^#[0-9A-Fa-f]{6}$")
CHANNELS: Final = ("rcs", "whatsapp")

_PROFILE_TEXTS: Final = ("name", "about", "address", "description", "vertical", "accent_color")
_PROFILE_URLS: Final = ("logo_url", "banner_url", "privacy_url", "terms_of_service_url")
#: A profile's lists and the fields of their entries.
_PROFILE_LISTS: Final = {"websites": ("website", "label"), "emails": ("email", "label"),
                         "phone_numbers": ("phone_number", "label")}
_WEBHOOK_URLS: Final = ("callback_url", "fallback_url", "status_callback_url")
_WEBHOOK_METHODS: Final = ("callback_method", "fallback_method", "status_callback_method")


@dataclass(frozen=True, slots=True)
class ChannelSender:
    """A channel sender, as stored."""

    sid: str
    account_sid: str
    #: ``rcs:<agent>``: what a message's ``from`` is when it goes over RCS.
    sender_id: str
    status: str
    profile: Mapping[str, Any]
    webhook: Mapping[str, Any]
    date_created: datetime
    date_updated: datetime

    @classmethod
    def of(cls, row: Row[Any]) -> ChannelSender:
        r = row._mapping
        return cls(sid=r["sid"], account_sid=r["account_sid"], sender_id=r["sender_id"], status=r["status"],
                   profile=r["profile"] or {}, webhook=r["webhook"] or {},
                   date_created=dates.as_utc(r["date_created"]), date_updated=dates.as_utc(r["date_updated"]))


def sender_id_from(document: Mapping[str, Any]) -> str:
    """The create body's ``sender_id``, checked: ``rcs:<agent>``."""
    sender_id = document.get("sender_id")
    if sender_id is None or sender_id == "":
        raise InvalidParameter(20001, "Missing required parameter sender_id in the request body")
    if not isinstance(sender_id, str):
        raise InvalidParameter(20001, "sender_id must be a string such as rcs:my_agent")
    channel, colon, agent = sender_id.partition(":")
    if channel.lower() == "whatsapp" and colon:
        raise NotImplementedByLoft("sender_id", "WhatsApp senders need Meta; Loft has RCS senders only")
    if channel.lower() != "rcs" or not colon or not _AGENT.match(agent):
        raise InvalidParameter(20001, f"sender_id must be rcs:<agent> (letters, digits, _ and -, up to {MAX_AGENT}), "
                                      f"not {sender_id!r}")
    return f"rcs:{agent}"


def changes_from(document: Mapping[str, Any]) -> dict[str, Any]:
    """The ``profile`` and ``webhook`` a create or update body gives, checked (absent or ``null``: unchanged)."""
    changes: dict[str, Any] = {}
    if document.get("configuration") is not None:
        configuration = document["configuration"]
        if not isinstance(configuration, Mapping) or any(value is not None for value in configuration.values()):
            raise NotImplementedByLoft("configuration", "it configures WhatsApp senders, which Loft does not have")
    if document.get("profile") is not None:
        changes["profile"] = _profile(document["profile"])
    if document.get("webhook") is not None:
        changes["webhook"] = _webhook(document["webhook"])
    return changes


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParameter(20001, f"{where} must be an object")
    return {name: item for name, item in value.items() if item is not None}


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidParameter(20001, f"{where} must be a string")
    return value


def _known(given: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidParameter(20001, f"{where}.{unknown[0]} is not a field of {where}")


def _profile(value: Any) -> dict[str, Any]:
    given = _object(value, "profile")
    _known(given, (*_PROFILE_TEXTS, *_PROFILE_URLS, *_PROFILE_LISTS), "profile")
    profile: dict[str, Any] = {}
    for name in _PROFILE_TEXTS:
        if name in given:
            profile[name] = _text(given[name], f"profile.{name}")
    for name in _PROFILE_URLS:
        if name in given:
            profile[name] = urls.optional(_text(given[name], f"profile.{name}"), f"profile.{name}")
    color = profile.get("accent_color")
    if color is not None and not _COLOR.match(color):
        raise InvalidParameter(20001, f"profile.accent_color must be a hex colour such as #1A73E8, not {color!r}")
    for name, keys in _PROFILE_LISTS.items():
        if name in given:
            entries = given[name]
            if not isinstance(entries, list):
                raise InvalidParameter(20001, f"profile.{name} must be a list")
            profile[name] = []
            for index, entry in enumerate(entries):
                where = f"profile.{name}[{index}]"
                fields = _object(entry, where)
                _known(fields, keys, where)
                profile[name].append({key: _text(fields[key], f"{where}.{key}") for key in keys if key in fields})
    return profile


def _webhook(value: Any) -> dict[str, Any]:
    given = _object(value, "webhook")
    _known(given, (*_WEBHOOK_URLS, *_WEBHOOK_METHODS), "webhook")
    webhook: dict[str, Any] = {}
    for name in _WEBHOOK_URLS:
        if name in given:
            webhook[name] = urls.optional(_text(given[name], f"webhook.{name}"), f"webhook.{name}")
    for name in _WEBHOOK_METHODS:
        if name in given:
            method = _text(given[name], f"webhook.{name}").upper()
            if method not in ("POST", "PUT"):
                raise InvalidParameter(20001, f"webhook.{name} must be POST or PUT, not {given[name]!r}")
            webhook[name] = method
    return webhook


async def create(conn: Conn, account: Account, sender_id: str, changes: Mapping[str, Any]) -> ChannelSender:
    """A new sender, ``CREATING``, and the job that brings it online."""
    await account_service.ensure_active(conn, account.sid, "create senders")
    moment = dates.now()
    sid = sids.new("XE")
    taken = InvalidParameter(20001, f"A sender {sender_id} exists already")
    if (await conn.execute(select(senders.c.sid).where(senders.c.sender_id == sender_id))).first() is not None:
        raise taken
    try:
        await conn.execute(senders.insert().values({
            "sid": sid, "account_sid": account.sid, "sender_id": sender_id, "status": CREATING, "profile": {},
            "webhook": {}, "date_created": moment, "date_updated": moment, **changes}))
    except IntegrityError:  # created by a concurrent request between our check and our insert
        raise taken from None
    await outbox.enqueue(conn, ONLINE_JOB, subject_sid=sid, account_sid=account.sid,
                         at=moment + timedelta(seconds=LAUNCH_SECONDS))
    return await get(conn, account.sid, sid)


async def bring_online(conn: Conn, sid: str) -> None:
    """The launch is over: a sender still ``CREATING`` is ``ONLINE`` (a deleted one is gone: nothing to do)."""
    await conn.execute(update(senders).where(senders.c.sid == sid, senders.c.status == CREATING)
                       .values(status=ONLINE, date_updated=dates.now()))


async def find(conn: Conn, account_sid: str, sid: str) -> ChannelSender | None:
    """The sender ``sid`` if it is ``account_sid``'s."""
    row = await owned.find(conn, senders, "XE", sid, account_sid)
    return ChannelSender.of(row) if row is not None else None


async def by_sender_id(conn: Conn, sender_id: str) -> ChannelSender | None:
    """The sender whose ``sender_id`` is ``sender_id`` (``rcs:<agent>``, unique in Loft), whoever's it is."""
    row = (await conn.execute(select(senders).where(senders.c.sender_id == sender_id))).first()
    return ChannelSender.of(row) if row is not None else None


async def online(conn: Conn, sender_ids: Sequence[str]) -> set[str]:
    """Those of ``sender_ids`` (``rcs:<agent>``) whose senders are ``ONLINE``: one query (none for none)."""
    if not sender_ids:
        return set()
    found = await conn.execute(select(senders.c.sender_id).where(senders.c.sender_id.in_(sorted(set(sender_ids))),
                                                                 senders.c.status == ONLINE))
    return set(found.scalars())


async def get(conn: Conn, account_sid: str, sid: str) -> ChannelSender:
    found = await find(conn, account_sid, sid)
    if found is None:
        raise NotFound()
    return found


async def change(conn: Conn, account: Account, sid: str, changes: Mapping[str, Any]
                 ) -> ChannelSender:
    found = await get(conn, account.sid, sid)
    await account_service.ensure_active(conn, account.sid, "change senders")
    if changes:
        merged = {key: {**getattr(found, key), **value} for key, value in changes.items()}
        await conn.execute(update(senders).where(senders.c.sid == sid).values(**merged, date_updated=dates.now()))
    return await get(conn, account.sid, sid)


async def remove(conn: Conn, account: Account, sid: str) -> None:
    """Delete the sender, and take it out of the pools that hold it."""
    await get(conn, account.sid, sid)
    await conn.execute(delete(pools).where(pools.c.sid == sid))
    await conn.execute(delete(senders).where(senders.c.sid == sid))


def channel(query: Mapping[str, str]) -> str:
    """A list's ``Channel`` (required): ``rcs`` or ``whatsapp``."""
    given = query.get("Channel")
    if not given:
        raise InvalidParameter(20001, "Missing required parameter Channel (rcs or whatsapp)")
    if given.lower() not in CHANNELS:
        raise InvalidParameter(20001, f"Channel must be rcs or whatsapp, not {given!r}")
    return given.lower()


async def page(conn: Conn, account: Account, request: paging.PageRequest) -> tuple[list[ChannelSender], bool]:
    """A page of the account's (RCS) senders, oldest first."""
    rows, more = await owned.page(conn, senders, account.sid, request)
    return [ChannelSender.of(row) for row in rows], more


def url(origin: str, sid: str) -> str:
    return f"{origin}/v2/Channels/Senders/{sid}"


_WEBHOOK_KEYS: Final = ("callback_url", "callback_method", "fallback_url", "fallback_method", "status_callback_url",
                        "status_callback_method")
_PROFILE_KEYS: Final = (*_PROFILE_TEXTS, *_PROFILE_URLS, *_PROFILE_LISTS)


def render(sender: ChannelSender, origin: str) -> dict[str, Any]:
    """The sender as ``/v2/Channels/Senders`` shows it (WhatsApp's fields ``null``)."""
    return {
        "sid": sender.sid,
        "status": sender.status,
        "sender_id": sender.sender_id,
        "configuration": None,
        "webhook": {key: sender.webhook.get(key, "POST" if key in _WEBHOOK_METHODS else None)
                    for key in _WEBHOOK_KEYS},
        "profile": {key: sender.profile.get(key) for key in _PROFILE_KEYS},
        "properties": None,
        "offline_reasons": None,
        "compliance": None,
        "url": url(origin, sender.sid),
    }
