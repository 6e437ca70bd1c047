"""Choosing the sender of a message sent through a Messaging Service, when it leaves.

A send through a service is created ``accepted`` (or ``scheduled``) with no sender; its send job, once due, runs
:func:`assign` in its first transaction: the sender is chosen, the message gets its ``from``, becomes ``queued``
(announced to its status callback, as Twilio does) and is paced from that sender, all with the job's next step
(sent on, or put back until the sender's slot) — one transaction, so a crash neither loses the choice nor makes
it twice, and the job's claim keeps a second worker off it.

The order, Twilio's as far as its support articles tell it (reference/services-rcs-carriers-bots.md):

0. **RCS first**: the pool's RCS sender (``rcs:<agent>``, the first ``ONLINE`` one) when the recipient's handset
   supports RCS (the simulator's ``Rcs`` setting; a network carrier's route: no) and a content template has
   something RCS shows; the handset then shows the template's richest RCS type. Otherwise the message falls back
   to SMS/MMS (a template's ``twilio/text`` or ``twilio/media`` translation, 19023 without one) from
   ``FallbackFrom`` if the send named one, else from the sender the next steps choose. A recipient ``rcs:+…`` is
   RCS only: 63106 when its handset does not support RCS;
1. **sticky sender** (the service's ``sticky_sender``): the sender this service last sent to the recipient
   from, while it is still in the pool and can reach the recipient (a mapping unused for a year is dropped);
2. a **short code** of the recipient's country;
3. an **alphanumeric ID**, where the country takes one (not to +1 numbers): a DestinationAlphaSender for the
   recipient's country, then one for any country, then the service's AlphaSender;
4. a **long code** able to send SMS: to a US or Canadian number with ``area_code_geomatch``, one in the
   recipient's area code, then in an overlay of it (:data:`OVERLAYS`), then any US or Canadian number; otherwise
   (and then) one of the recipient's country, then a US number, then any.

Within each step, the pool's order (the order senders joined it). A pool with no sender at all fails the message
with 21704, one with none that can reach the recipient with 21703; a sender whose queue is full (four hours of
traffic, :mod:`loft.delivery.pacing`) with 30001; a recipient who opted out of the service (or of the chosen
sender, before it joined the pool) with 21610.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, select, update

from loft.content import channels
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.db.tables import messaging_sticky_senders as sticky
from loft.delivery import lifecycle, pacing
from loft.delivery.carriers import sim
from loft.delivery.carriers.sim import CONTENT_OPTION
from loft.errors import InvalidParameter
from loft.kit import dates, phone
from loft.messages import optout
from loft.messages import service as message_service
from loft.messages.content import RENDERED
from loft.messaging_services import pool as pools
from loft.messaging_services import service as services
from loft.messaging_services.pool import Pool, Sender
from loft.senders import service as channel_senders

#: The statuses of a message whose sender is still to be chosen (or, scheduled, to be confirmed) when it leaves.
CHOOSING: Final = frozenset({"accepted", "scheduled"})
#: A sticky mapping unused this long is forgotten (Twilio's: a year).
STICKY_FOR: Final = timedelta(days=365)
#: No sender in the pool; none that can reach the recipient.
NO_SENDERS: Final = 21704
NO_SENDER_FOR_RECIPIENT: Final = 21703
#: The service is gone (deleted after the message was accepted).
SERVICE_GONE: Final = 21705
QUEUE_OVERFLOW: Final = 30001
#: The recipient's handset does not support RCS (a message to ``rcs:+…``, which has no fallback).
NOT_RCS_CAPABLE: Final = 63106

#: North American area codes that overlay one another (the same place, several codes): a selection of the
#: largest; a code outside it has no overlay here, and geomatch goes on to any US or Canadian number.
_OVERLAY_GROUPS: Final = (
    {"212", "646", "332", "917"}, {"718", "347", "929", "917"}, {"415", "628"}, {"213", "323"}, {"310", "424"},
    {"818", "747"}, {"312", "872"}, {"773", "872"}, {"617", "857"}, {"202", "771"}, {"303", "720", "983"},
    {"713", "281", "832", "346"}, {"214", "469", "972", "945"}, {"404", "678", "470", "943"}, {"305", "786", "645"},
    {"215", "267", "445"}, {"206", "564"}, {"416", "647", "437"}, {"514", "438", "263"}, {"604", "778", "236", "672"},
)
OVERLAYS: Final[dict[str, frozenset[str]]] = {
    code: frozenset().union(*(group for group in _OVERLAY_GROUPS if code in group)) - {code}
    for group in _OVERLAY_GROUPS for code in group
}
_PACING_TYPES: Final = {"short_code": "shortCode", "alpha_sender": "alphanumeric",
                        "destination_alpha_sender": "alphanumeric"}


@dataclass(frozen=True, slots=True)
class Assigned:
    """A message whose sender is chosen: ``queued`` now, with its ``from``; it may leave at ``leaves_at`` (its
    sender's pace). ``event`` announces ``queued``, not recorded yet: the caller records it, alone or first of the
    events that follow it in the same transaction (:func:`lifecycle.announce_all`), so that they arrive in order."""

    message: Record
    leaves_at: datetime
    event: lifecycle.Event | None


def area_code(number: str) -> str | None:
    """A North American number's area code (``+1NPA…``)."""
    return number[2:5] if number.startswith("+1") and len(number) == 12 else None


def takes_alphanumeric(recipient: str) -> bool:
    """Whether the recipient's country takes alphanumeric sender IDs: not the +1 countries (as for ``From``)."""
    return phone.country_code(recipient) != 1


def ordered(pool: Pool, recipient: str, *, geomatch: bool) -> list[Sender]:
    """The pool's senders that can reach ``recipient``, in the order they are tried (the module's steps 2–4)."""
    order = list(pool.short_codes)
    if takes_alphanumeric(recipient):
        order += [*pool.destination_alpha_senders, *pool.alpha_senders]
    return order + _long_codes(pool, recipient, geomatch=geomatch)


def _long_codes(pool: Pool, recipient: str, *, geomatch: bool) -> list[Sender]:
    numbers = [sender for sender in pool.phone_numbers if "SMS" in sender.capabilities]
    steps: list[Any] = []
    code = area_code(recipient)
    if geomatch and code is not None:
        overlays = OVERLAYS.get(code, frozenset())
        steps += [lambda n: area_code(n.address) == code, lambda n: area_code(n.address) in overlays,
                  lambda n: n.country in ("US", "CA")]
    steps += [lambda n: n.country == pool.recipient_country, lambda n: n.country == "US", lambda n: True]
    chosen: list[Sender] = []
    for step in steps:
        chosen += [number for number in numbers if step(number) and number not in chosen]
    return chosen


async def choose(conn: Conn, service: services.Service, recipient: str, pool: Pool | None = None) -> Sender | int:
    """The sender for ``recipient`` (recording the sticky mapping), or the error code the message fails with;
    ``pool``: the service's for ``recipient``, if read already."""
    pool = pool or await pools.for_recipient(conn, service, recipient)
    candidates = ordered(pool, recipient, geomatch=service.area_code_geomatch)
    if not candidates:
        return NO_SENDER_FOR_RECIPIENT if await pools.has_senders(conn, service.sid) else NO_SENDERS
    if not service.sticky_sender:
        return candidates[0]
    moment = dates.now()
    mapped = await _sticky(conn, service.sid, recipient)
    chosen = candidates[0]
    if mapped is not None and dates.as_utc(mapped.date_updated) > moment - STICKY_FOR:
        chosen = next((sender for sender in candidates if sender.sid == mapped.sender_sid), chosen)
    if not await upsert.insert_ignore(conn, sticky, service_sid=service.sid, recipient=recipient,
                                      sender_sid=chosen.sid, address=chosen.address, date_updated=moment):
        await conn.execute(update(sticky).where(sticky.c.service_sid == service.sid, sticky.c.recipient == recipient)
                           .values(sender_sid=chosen.sid, address=chosen.address, date_updated=moment))
    return chosen


async def _sticky(conn: Conn, service_sid: str, recipient: str) -> Row[Any] | None:
    return (await conn.execute(select(sticky).where(sticky.c.service_sid == service_sid,
                                                    sticky.c.recipient == recipient))).first()


async def assign(conn: Conn, message: Record, *, rates: Mapping[str, float],
                 carrier: str | None = None) -> Assigned | None:
    """Choose the sender of ``message`` (in :data:`CHOOSING`, its job due) and make it ``queued`` from it, paced;
    None when it fails instead (recorded and announced: the job is done). A scheduled message that names its
    ``From`` keeps it. ``carrier``: the network carrier its route names (None: the simulator), which says whether
    the handset can be reached over RCS. From the status it was read in only (:class:`lifecycle.Superseded`
    otherwise)."""
    service = None
    if message.messaging_service_sid is not None:
        service = await services.find(conn, message.account_sid, message.messaging_service_sid)
    values: dict[str, Any] = {}
    if message.from_addr:
        address, sender_type = message.from_addr, _pacing_type_of(message.from_addr)
    elif service is None:
        await _fail(conn, message, SERVICE_GONE)
        return None
    else:
        leg = await _leg(conn, service, message, carrier)
        if isinstance(leg, int):
            await _fail(conn, message, leg)
            return None
        address, sender_type, shown = leg
        if shown is not None:
            values["options"] = {**message.options, CONTENT_OPTION: shown}
    if await optout.opted_out(conn, [(address, message.to_addr, message.messaging_service_sid)]):
        await _fail(conn, message, 21610)
        return None
    try:
        leaves_at = await pacing.slot(conn, address, sender_type=sender_type, segments=message.num_segments,
                                      rates=rates)
    except InvalidParameter:
        await _fail(conn, message, QUEUE_OVERFLOW)
        return None
    event = await lifecycle.change(conn, message, "queued", expected=message.status, announce=False,
                                   from_addr=address, **values)
    queued = await message_service.load(conn, message.sid)
    assert queued is not None
    return Assigned(queued, leaves_at, event)


async def _leg(conn: Conn, service: services.Service, message: Record, carrier: str | None
               ) -> tuple[str, str, dict[str, Any] | None] | int:
    """The sender a message through ``service`` leaves from, its pacing type and, over RCS, what the handset shows
    (a content template's richest RCS type); or the error code it fails with. RCS first: the pool's RCS sender
    when the handset supports RCS (and the template has something RCS shows); else the fallback, SMS or MMS:
    ``FallbackFrom``, or the pool's choice (:func:`choose`). A recipient ``rcs:+…`` is RCS only (63106 when its
    handset is not RCS capable); a template with no SMS/MMS translation cannot fall back (19023)."""
    recipient = message.to_addr.removeprefix(phone.RCS_PREFIX)
    pool = await pools.for_recipient(conn, service, recipient)
    rendered = message.options.get(RENDERED)
    shown = channels.rcs(rendered) if rendered is not None else None
    if (pool.channel_senders and (rendered is None or shown is not None)
            and carrier is None and await sim.reaches_rcs(conn, message.account_sid, recipient)):
        online = await channel_senders.online(conn, [sender.address for sender in pool.channel_senders])
        agent = next((sender for sender in pool.channel_senders if sender.address in online), None)
        if agent is not None:  # (one still launching, CREATING, carries nothing yet)
            return agent.address, "rcs", shown
    if message.to_addr.startswith(phone.RCS_PREFIX):
        return NOT_RCS_CAPABLE
    if rendered is not None and channels.sms(rendered) is None:
        return channels.NO_FALLBACK
    fallback = message.options.get("fallback_from")
    if fallback:
        return fallback, _pacing_type_of(fallback), None
    chosen = await choose(conn, service, recipient, pool)
    if isinstance(chosen, int):
        return chosen
    return chosen.address, _PACING_TYPES.get(chosen.kind) or phone.number_type(chosen.address), None


def _pacing_type_of(address: str) -> str:
    if address.startswith("+"):
        return phone.number_type(address)
    return "shortCode" if phone.is_short_code(address) else "alphanumeric"


async def _fail(conn: Conn, message: Record, error_code: int) -> None:
    await lifecycle.change(conn, message, "failed", error_code=error_code, expected=message.status)
