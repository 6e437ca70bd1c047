"""Messages: validate and store a send (with its outbox row, in one transaction), read, redact, delete.

Validation follows Twilio's order and codes (reference/twilio-messaging-facts.md section 6), including the
magic test numbers of Twilio's test credentials, so suites written against Twilio pass unchanged: what needs no
database is :mod:`loft.messages.validation`; the checks against the account's numbers, applications and
opt-outs are here.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, delete, func, insert, select, update

from loft import metrics
from loft.accounts import service as accounts
from loft.accounts.service import API_VERSION, Account
from loft.applications import service as applications
from loft.config import Settings
from loft.db import pages, upsert
from loft.db.engine import Conn
from loft.db.prepared import Prepared, Record, among, list_length, record_class, values_of
from loft.db.tables import message_feedback, message_media, messages
from loft.delivery import lifecycle, outbox, pacing, wakeups
from loft.delivery.carriers import plan as carrier_plan
from loft.errors import InvalidParameter, NotFound, TwilioApiError
from loft.kit import dates, forms, paging, phone, segments, sids
from loft.messages import content, optout, pricing, scheduled
from loft.messages.validation import DEFAULT_VALIDITY, MAGIC_VALID_FROM, NewMessage, validate
from loft.messaging_services import service as messaging_services
from loft.messaging_services.service import Service
from loft.numbers import service as numbers

#: Not yet final: such a message cannot be deleted or redacted.
IN_FLIGHT = frozenset({"queued", "sending", "accepted", "scheduled", "receiving"})
#: Statuses in which Twilio has billed the message and shows its price.
BILLED = frozenset({"sent", "delivered", "undelivered", "received", "read"})
#: Loft's error code for acting on a message that is still in flight (Twilio documents no number for it).
STILL_IN_FLIGHT = 20009
#: Twilio's code for canceling a message that is not (or no longer) scheduled.
NOT_SCHEDULED = 30409

def check(account: Account, form: forms.Form) -> NewMessage:
    """Everything about a send that needs no database, in Twilio's order: the account may send, the form is valid."""
    if not accounts.can_send(account):
        raise TwilioApiError(20005, f"Account not active: {account.sid} is {account.status} and cannot send", 403)
    return validate(form)


@dataclass(slots=True)
class Draft:
    """A send that passed :func:`check`, for :func:`create_many`; with ``lease`` (a worker of this process has
    room), one that leaves at once for the simulator, without media to fetch, is handed over by the create itself
    (``hand_over``), its status callbacks recorded under that lease.

    A value, never changed once made (a changed send is a new draft), but not ``frozen``: a frozen dataclass sets
    each field through ``object.__setattr__``, and every create makes one."""

    account: Account
    new: NewMessage
    settings: Settings
    lease: outbox.Lease | None = None
    #: Its row of ``messages``, made with the draft: the write that stores it holds every other writer up, in
    #: this process and the others, and should only write.
    row: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        new = self.new
        status = "queued"
        if new.messaging_service_sid is not None:  # the sender is chosen when it leaves (loft.delivery.selection)
            status = "scheduled" if new.send_at is not None else "queued" if new.from_ else "accepted"
        self.row = _row(self.settings, account_sid=self.account.sid, direction="outbound-api", from_=new.from_,
                        to=new.to, body=new.body, mms=new.mms, num_media=len(new.media_urls), status=status,
                        status_callback=new.status_callback, status_callback_method="POST",
                        application_sid=new.application_sid, validity_period=new.validity_period,
                        options=new.options, moment=dates.now(), messaging_service_sid=new.messaging_service_sid)


class Created(NamedTuple):
    """A stored send, and what became of it in the create's transaction."""

    #: As created: what the create answers (``queued``, ``accepted``, ``scheduled``).
    message: Record
    #: Handed to the simulator by its create (see :func:`create_many`); else its job waits in the outbox.
    handed_over: bool = False
    #: The job of its status callbacks when it was handed over, recorded under its draft's lease, for its caller
    #: to give that worker once this commits (None: it has none).
    callbacks: outbox.Job | None = None


#: Hands sends about to be stored (their records as they would read, ``queued``) to the simulator in the caller's
#: transaction: the columns each is stored with instead, and the jobs of their status callbacks, recorded under
#: ``lease``, by message SID (see :func:`loft.delivery.send.hand_over_new`).
HandOver = Callable[[Conn, list[Record], outbox.Lease],
                    Awaitable[tuple[list[dict[str, Any]], Mapping[str, outbox.Job]]]]


async def create_many(conn: Conn, drafts: list[Draft], *, hand_over: HandOver | None = None
                      ) -> list[Created | Exception]:
    """Store sends that passed :func:`check`, after the checks that need the database, in Twilio's order for each
    (the sender is the account's, the Application is, the recipient has not opted out, the sender's queue has
    room): a few statements for all of them. A send that fails a check gets its error, and nothing of it is
    written.

    With ``hand_over``, a send whose draft has a lease and that leaves at once for the simulator with nothing to
    fetch (:func:`_leaves_here`) is handed over in this same transaction and stored in the status that takes it
    to, with no job of its own: the checks a send makes when it leaves are the ones just made (its account may
    send, its recipient has not opted out, it has not expired), so a worker would only read it back, check it
    again, hand it over and update it a transaction later. It is answered as created (``queued``). Every other
    send gets its job, for any worker."""
    owned = await numbers.owned_senders(conn, [(draft.account.sid, sender) for draft in drafts
                                               for sender in (draft.new.from_, draft.new.fallback_from)
                                               if sender is not None and sender.startswith("+")])
    opted_out = await optout.opted_out(conn, [(draft.new.from_, draft.new.to, draft.new.messaging_service_sid)
                                              for draft in drafts])
    through = await _services(conn, drafts)
    found = await content.look_up(conn, [draft.new for draft in drafts])
    results: list[Created | Exception | None] = []
    going: list[tuple[Draft, datetime]] = []
    for draft in drafts:
        try:
            if content.concerned(draft.new):
                draft = Draft(draft.account, content.resolve(draft.account.sid, draft.new, found), draft.settings,
                              draft.lease)
            if draft.new.messaging_service_sid is not None:
                draft = _through(draft, through.get(draft.new.messaging_service_sid))
            going.append((draft, await _admit(conn, draft, owned, opted_out)))
            results.append(None)
        except TwilioApiError as refused:
            results.append(refused)
    now = dates.now()
    leases = [draft.lease if hand_over is not None and _leaves_here(draft, leaves_at, now) else None
              for draft, leaves_at in going]
    leaving = [index for index, lease in enumerate(leases) if lease is not None]
    departed: dict[int, dict[str, Any]] = {}
    callbacks: Mapping[str, outbox.Job] = {}
    if leaving:
        lease = leases[leaving[0]]  # one worker's
        assert hand_over is not None and lease is not None
        values, callbacks = await hand_over(conn, [_created(going[index][0].row, seq=None) for index in leaving],
                                            lease)
        departed = dict(zip(leaving, values))
        conn.after_commit(partial(metrics.reached, "queued", len(leaving)))  # stored as what they reached
    stored = await _store(conn, [_Stored(
        {**draft.row, **departed[index]} if index in departed else draft.row, draft.settings, draft.account.sid,
        "outbound-api", draft.new.to, draft.new.media_urls, leaves_at, index not in departed,
    ) for index, (draft, leaves_at) in enumerate(going)])
    if len(departed) < len(going):
        wakeups.notify(conn)  # sends left in the outbox: any worker's, woken once this commits
    # One record each: as created (queued) for a send handed over, which is stored in the status it reached.
    created = iter([Created(_created(draft.row, seq=seq), True, callbacks.get(row["sid"]))
                    if index in departed else Created(_created(row, seq=seq))
                    for index, ((draft, _), (row, seq)) in enumerate(zip(going, stored))])
    return [next(created) if result is None else result for result in results]


def _leaves_here(draft: Draft, leaves_at: datetime, now: datetime) -> bool:
    """Whether a send is handed over by its create (see :func:`create_many`): a worker of this process gave it a
    lease (it has room, and the simulator takes sends to its recipient), it is ``queued`` (not waiting for a
    Messaging Service's choice, nor scheduled), leaves now (its sender's pace allows), has no media to fetch,
    and does not come from an RCS sender (whose handset the send checks)."""
    return (draft.lease is not None and leaves_at <= now and not draft.new.media_urls
            and draft.row["status"] == "queued" and not draft.new.from_.startswith(phone.RCS_PREFIX))


async def _services(conn: Conn, drafts: list[Draft]) -> Mapping[str, Service]:
    """The Messaging Services the drafts are sent through, by SID (whichever account's): one query, none for a
    batch with no draft sent through a service."""
    wanted = {draft.new.messaging_service_sid for draft in drafts if draft.new.messaging_service_sid is not None}
    return await messaging_services.find_many(conn, wanted) if wanted else {}


def _through(draft: Draft, service: Service | None) -> Draft:
    """A send through ``service`` (None: not found) with the service's settings applied: its status callback when
    the send names none (nor an Application), the shorter of the two validity periods, its smart encoding (unless
    ``SmartEncoded`` says otherwise). Another account's service is not found, a parent's included (21705)."""
    new = draft.new
    if service is None or service.account_sid != draft.account.sid:
        raise InvalidParameter(21705, f"The Messaging Service Sid {new.messaging_service_sid} is invalid: it is "
                                      "not a Messaging Service of this account.")
    body = new.body
    if service.smart_encoding and new.options.get("smart_encoded") is not False:
        body = segments.smart_encoded(body)
    options = new.options if new.send_at is None else {**new.options, "send_at": dates.iso8601(new.send_at)}
    # What the send names itself (a StatusCallback, an Application's) wins over the service's default.
    callback = new.status_callback or (None if new.application_sid else service.status_callback)
    changed = replace(new, body=body, status_callback=callback,
                      validity_period=min(new.validity_period, service.validity_period), options=options)
    return Draft(draft.account, changed, draft.settings, draft.lease)


async def _admit(conn: Conn, draft: Draft, owned: Mapping[tuple[str, str], Record],
                 opted_out: set[optout.Send]) -> datetime:
    """The checks of one send that need the database (given what one query for all found); when it may leave."""
    account, new = draft.account, draft.new
    if new.fallback_from is not None:
        _own_sender(account, new.fallback_from, owned, name="FallbackFrom")
    if new.messaging_service_sid is not None and (not new.from_ or new.send_at is not None):
        # Its sender is chosen, checked and paced when it leaves (loft.delivery.selection).
        if new.application_sid and not await applications.exists(conn, account.sid, new.application_sid):
            raise InvalidParameter(20001,
                                   f"ApplicationSid {new.application_sid} is not an Application of this account")
        if new.send_at is not None:  # last: it writes (35125 when the account has too many)
            await scheduled.reserve(conn, account.sid, draft.settings.max_scheduled_per_account)
        return new.send_at or dates.now()
    sender_type = "alphanumeric"
    if new.from_ == MAGIC_VALID_FROM:
        sender_type = "local"
    elif new.from_.startswith(phone.RCS_PREFIX):
        sender_type = "rcs"  # the account's, online (checked with its content: loft.messages.content)
    else:
        number = _own_sender(account, new.from_, owned, name="From")
        if number is not None:
            sender_type = number.number_type
    if new.application_sid and not await applications.exists(conn, account.sid, new.application_sid):
        raise InvalidParameter(20001,
                               f"ApplicationSid {new.application_sid} is not an Application of this account")
    if (new.from_, new.to, new.messaging_service_sid) in opted_out:
        raise InvalidParameter(21610, "Attempt to send to unsubscribed recipient")
    count = draft.row["num_segments"]  # 1 for MMS, else the body's SMS segments (see _row)
    # Writes nothing when it refuses (21611): a sender's queue is full only once its pace is recorded.
    return await pacing.slot(conn, new.from_, sender_type=sender_type, segments=count,
                             rates=draft.settings.rates)


def _own_sender(account: Account, address: str, owned: Mapping[tuple[str, str], Record], *,
               name: str) -> Record | None:
    """``address`` (``From``, ``FallbackFrom``) must be a sender of the account (21606): an SMS-capable number of
    its (returned), or an alphanumeric ID (Loft provisions no short codes)."""
    if address.startswith("+"):
        number = owned.get((account.sid, address))
        if number is None or not number.capability_sms:
            raise InvalidParameter(21606, f"The {name} phone number {address} is not a valid, SMS-capable inbound "
                                          "phone number or short code for your account.")
        return number
    if phone.is_short_code(address):
        raise InvalidParameter(21606, f"The {name} short code {address} is not a short code of your account.")
    return None


_INSERT = Prepared(insert(messages).returning(messages.c.seq, messages.c.sid))
_RECORD = record_class(messages, first="seq")


@dataclass(slots=True)
class _Message:
    """What :func:`store_many` writes for one message (see :func:`store`)."""

    settings: Settings
    account_sid: str
    direction: str
    from_: str
    to: str
    body: str
    media_urls: list[str]
    mms: bool
    status: str
    status_callback: str | None = None
    status_callback_method: str = "POST"
    application_sid: str | None = None
    validity_period: int = DEFAULT_VALIDITY
    options: dict[str, Any] | None = None
    send_at: datetime | None = None
    #: Inbound: the service whose pool holds the number it was sent to.
    messaging_service_sid: str | None = None


def _row(settings: Settings, *, account_sid: str, direction: str, from_: str, to: str, body: str, mms: bool,
         num_media: int, status: str, status_callback: str | None, status_callback_method: str,
         application_sid: str | None, validity_period: int, options: dict[str, Any] | None,
         moment: datetime, messaging_service_sid: str | None = None) -> dict[str, Any]:
    """A new message's row of ``messages``."""
    count = 1 if mms else segments.count(body)
    return {
        "sid": sids.new("MM" if mms else "SM"),
        "account_sid": account_sid,
        "direction": direction,
        "from_addr": from_,
        "to_addr": to,
        "body": body,
        "status": status,
        "num_segments": count,
        "num_media": num_media,
        # Outbound: the destination's country; inbound: the receiving Loft number's country.
        "price_quote": pricing.quote(settings.sms_prices, to, segments=count, mms=mms,
                                     mms_prices=settings.mms_prices),
        "price_unit": settings.price_unit,
        "status_callback": status_callback,
        "status_callback_method": status_callback_method,
        "application_sid": application_sid,
        "validity_period": validity_period,
        "options": options or {},
        "messaging_service_sid": messaging_service_sid,
        "error_code": None,
        "error_message": None,
        "date_created": moment,
        "date_updated": moment,
        "date_sent": None,
    }


async def store(conn: Conn, settings: Settings, **message: Any) -> Record:
    """Insert a message with its media and its job (to send it, or, inbound, its webhook), all in the caller's
    transaction; the message as stored. Keyword arguments: the fields of :class:`_Message`."""
    return (await store_many(conn, [_Message(settings, **message)]))[0]


async def store_many(conn: Conn, stored: list[_Message]) -> list[Record]:
    """:func:`store` for many messages: one statement inserts them all, one their jobs."""
    moment = dates.now()
    return [_created(row, seq=seq) for row, seq in await _store(conn, [_Stored(
        _row(message.settings, account_sid=message.account_sid, direction=message.direction, from_=message.from_,
             to=message.to, body=message.body, mms=message.mms, num_media=len(message.media_urls),
             status=message.status, status_callback=message.status_callback,
             status_callback_method=message.status_callback_method, application_sid=message.application_sid,
             validity_period=message.validity_period, options=message.options, moment=moment,
             messaging_service_sid=message.messaging_service_sid),
        message.settings, message.account_sid, message.direction, message.to, message.media_urls,
        message.send_at, True,
    ) for message in stored], moment)]


class _Stored(NamedTuple):
    """What :func:`_store` writes for one message: its row, and what its media and its job are made from."""

    row: dict[str, Any]
    settings: Settings
    account_sid: str
    direction: str
    to: str
    media_urls: list[str]
    send_at: datetime | None
    #: False: no job (a send its create hands over itself: see :func:`create_many`).
    job: bool


async def _store(conn: Conn, stored: list[_Stored], moment: datetime | None = None
                 ) -> list[tuple[dict[str, Any], int]]:
    """:func:`store_many` of rows made already: each message's row as written, and its sequence number; a job
    without a time of its own is due at ``moment`` (default: now)."""
    if not stored:
        return []
    moment = moment or dates.now()
    rows = [message.row for message in stored]
    seqs = {row.sid: row.seq for row in await conn.insert_rows(_INSERT, rows)}
    counted: dict[str, int] = {}
    for row in rows:
        counted[row["status"]] = counted.get(row["status"], 0) + 1
    for status, count in counted.items():
        conn.after_commit(partial(metrics.reached, status, count))
    media = [
        {
            "sid": sids.new("ME"),
            "message_sid": row["sid"],
            "account_sid": message.account_sid,
            "position": position,
            "url": url,
            "content_type": mimetypes.guess_type(url.split("?", 1)[0])[0] or "application/octet-stream",
            "date_created": row["date_created"],
            "date_updated": row["date_created"],
        }
        for message, row in zip(stored, rows) for position, url in enumerate(message.media_urls)
    ]
    if media:
        await conn.execute(insert(message_media), media)
    jobs = [outbox.NewJob(
        kind=outbox.INBOUND if message.direction == "inbound" else outbox.SEND, subject_sid=row["sid"],
        account_sid=message.account_sid, at=message.send_at or moment,
        carrier=None if message.direction == "inbound" else _carrier(message.settings, message.to),
    ) for message, row in zip(stored, rows) if message.job]
    if jobs:
        await outbox.enqueue_all(conn, jobs)
    return [(row, seqs[row["sid"]]) for row in rows]


def _created(row: Mapping[str, Any], *, seq: int | None) -> Record:
    """What a read of a message just written with ``row`` (:func:`_row`) gives, without the read: the values
    written and its sequence number."""
    return _RECORD(seq, row)


def _carrier(settings: Settings, to: str) -> str | None:
    """The network carrier that takes a send to ``to`` (None: the simulator), by the carriers file's routes."""
    name = carrier_plan.load(settings.carriers_file).route(to)
    return None if name == carrier_plan.SIM else name


_BY_SID = Prepared(select(messages).where(messages.c.sid == bindparam("sid")))


@lru_cache(maxsize=None)
def _by_sids(length: int) -> Prepared:
    return Prepared(select(messages).where(among(messages.c.sid, "sid", length)))


async def load_many(conn: Conn, sids: Sequence[str]) -> dict[str, Record]:
    """The messages among ``sids`` (any account's), by SID, in one query."""
    if not sids:
        return {}
    found = await conn.execute(_by_sids(list_length(len(sids))), values_of("sid", list(sids)))
    return {row.sid: row for row in found.all()}


async def load(conn: Conn, sid: str) -> Record | None:
    """The message ``sid``, whichever account it belongs to (for delivery and webhooks)."""
    return (await conn.execute(_BY_SID, {"sid": sid})).first()


async def get(conn: Conn, account: Account, sid: str) -> Record:
    """The message ``sid`` of ``account``; 404 (20404) when it is not one of the account's."""
    row = await load(conn, sid)
    if row is None or row.account_sid != account.sid:
        raise NotFound()
    return row


async def page(conn: Conn, account: Account, query: Mapping[str, str],
               request: paging.PageRequest) -> tuple[list[Row[Any]], bool]:
    where = [messages.c.account_sid == account.sid]
    for parameter, column in (("To", messages.c.to_addr), ("From", messages.c.from_addr)):
        value = query.get(parameter)
        if value:
            where.append(column == (phone.e164(value) or value.strip()))
    sent = func.coalesce(messages.c.date_sent, messages.c.date_created)
    where += pages.date_filters(sent, query, "DateSent")
    return await pages.fetch(conn, messages, where=where, order=("seq",), descending=True, request=request)


async def redact_or_cancel(conn: Conn, account: Account, sid: str, *, status: str | None = None,
                           body: str | None = None) -> Record:
    """An update of the message ``sid``: its ``status`` to ``canceled`` (a scheduled message), its ``body`` to
    ``""`` (redaction); ``None`` leaves either as it is."""
    row = await get(conn, account, sid)
    values: dict[str, Any] = {}
    if status is not None:
        if status != "canceled":
            raise InvalidParameter(20001, f"Status can only be updated to 'canceled', not '{status}'")
        if row.status != "scheduled":
            raise _not_cancelable(row)
    if body is not None:
        if body != "":
            raise InvalidParameter(20001, "Body can only be updated to an empty string, which redacts the message")
        if row.status in IN_FLIGHT and status is None:
            raise InvalidParameter(STILL_IN_FLIGHT, f"Message {sid} cannot be redacted while it is {row.status}")
        values["body"] = ""
    if status is not None:
        try:  # from scheduled only: its send may be leaving at this moment (the send's job finds it canceled)
            await lifecycle.change(conn, row, "canceled", expected="scheduled")
        except lifecycle.Superseded:
            raise _not_cancelable(await get(conn, account, sid)) from None
    if values:
        values["date_updated"] = dates.now()
        await conn.execute(update(messages).where(messages.c.sid == sid).values(**values))
    return await get(conn, account, sid)


def _not_cancelable(row: Row[Any]) -> InvalidParameter:
    return InvalidParameter(NOT_SCHEDULED, f"Message {row.sid} cannot be canceled: only a scheduled message can be, "
                                           f"and its status is {row.status}")


async def remove(conn: Conn, account: Account, sid: str) -> None:
    row = await get(conn, account, sid)
    if row.status in IN_FLIGHT:
        raise InvalidParameter(STILL_IN_FLIGHT, f"Message {sid} cannot be deleted while it is {row.status}")
    await conn.execute(delete(message_media).where(message_media.c.message_sid == sid))
    await conn.execute(delete(message_feedback).where(message_feedback.c.message_sid == sid))
    await conn.execute(delete(messages).where(messages.c.sid == sid))


def render(row: Row[Any]) -> dict[str, Any]:
    """A message as Twilio answers it (its columns read by name: a ``Row`` and Loft's records both have them)."""
    account_sid, sid = row.account_sid, row.sid
    base = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    subresources = {"media": f"{base}/Media.json"}
    if row.options.get("provide_feedback"):
        subresources["feedback"] = f"{base}/Feedback.json"
    status = row.status
    created, updated = row.date_created, row.date_updated
    created_text = dates.rfc2822(created)
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": row.body,
        "date_created": created_text,
        "date_sent": dates.rfc2822(row.date_sent),
        "date_updated": created_text if updated is created else dates.rfc2822(updated),  # (one moment at a create)
        "direction": row.direction,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "from": row.from_addr or None,  # a service's message before its sender is chosen has none
        "messaging_service_sid": row.messaging_service_sid,
        "num_media": str(row.num_media),
        "num_segments": str(row.num_segments),
        "price": row.price_quote if status in BILLED else None,
        "price_unit": row.price_unit,
        "sid": sid,
        "status": status,
        "subresource_uris": subresources,
        "to": row.to_addr,
        "uri": f"{base}.json",
    }


# Media ---------------------------------------------------------------------------------------------------


async def media_page(conn: Conn, message: Row[Any], query: Mapping[str, str],
                     request: paging.PageRequest) -> tuple[list[Row[Any]], bool]:
    where = [message_media.c.message_sid == message.sid]
    where += pages.date_filters(message_media.c.date_created, query, "DateCreated")
    return await pages.fetch(conn, message_media, where=where, order=("position",), descending=False,
                             request=request)


async def media_item(conn: Conn, message: Row[Any], sid: str) -> Row[Any]:
    row = (
        await conn.execute(
            select(message_media).where(message_media.c.sid == sid, message_media.c.message_sid == message.sid)
        )
    ).first()
    if row is None:
        raise NotFound()
    return row


async def remove_media(conn: Conn, message: Row[Any], sid: str) -> None:
    await media_item(conn, message, sid)
    await conn.execute(delete(message_media).where(message_media.c.sid == sid))


def render_media(row: Row[Any]) -> dict[str, Any]:
    r = row._mapping
    return {
        "account_sid": r["account_sid"],
        "content_type": r["content_type"],
        "date_created": dates.rfc2822(r["date_created"]),
        "date_updated": dates.rfc2822(r["date_updated"]),
        "parent_sid": r["message_sid"],
        "sid": r["sid"],
        "uri": f"/{API_VERSION}/Accounts/{r['account_sid']}/Messages/{r['message_sid']}/Media/{r['sid']}.json",
    }


# Feedback ------------------------------------------------------------------------------------------------


async def give_feedback(conn: Conn, message: Row[Any], form: Mapping[str, str]) -> Row[Any]:
    outcome = forms.choice(form, "Outcome", ("confirmed", "unconfirmed"), default="confirmed")
    moment = dates.now()
    await upsert.insert_ignore(conn, message_feedback, message_sid=message.sid, account_sid=message.account_sid,
                               outcome=outcome, date_created=moment, date_updated=moment)
    await conn.execute(
        update(message_feedback).where(message_feedback.c.message_sid == message.sid)
        .values(outcome=outcome, date_updated=moment)
    )
    row = (
        await conn.execute(select(message_feedback).where(message_feedback.c.message_sid == message.sid))
    ).one()
    return row


def render_feedback(row: Row[Any]) -> dict[str, Any]:
    r = row._mapping
    return {
        "account_sid": r["account_sid"],
        "message_sid": r["message_sid"],
        "outcome": r["outcome"],
        "date_created": dates.rfc2822(r["date_created"]),
        "date_updated": dates.rfc2822(r["date_updated"]),
        "uri": f"/{API_VERSION}/Accounts/{r['account_sid']}/Messages/{r['message_sid']}/Feedback.json",
    }
