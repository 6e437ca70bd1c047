"""Messages: validate and store a send (with its outbox row, in one transaction), read, redact, delete.

Validation follows Twilio's order and codes (reference/twilio-messaging-facts.md section 6), including the
magic test numbers of Twilio's test credentials, so suites written against Twilio pass unchanged.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from starlette.datastructures import MultiDict

from loft import metrics
from loft.accounts import service as accounts
from loft.accounts.service import API_VERSION, Account
from loft.applications import service as applications
from loft.config import Settings
from loft.db import pages, upsert
from loft.db.engine import Conn
from loft.db.prepared import Prepared, Record, record_class
from loft.db.tables import message_feedback, message_media, messages
from loft.delivery import outbox, pacing
from loft.delivery.carriers import plan as carrier_plan
from loft.errors import InvalidParameter, NotFound, NotImplementedByLoft, TwilioApiError
from loft.kit import dates, forms, paging, phone, segments, sids, urls
from loft.messages import optout, pricing
from loft.numbers import service as numbers

MAX_BODY = 1600
MAX_MEDIA = 10
DEFAULT_VALIDITY = 36000
#: Not yet final: such a message cannot be deleted or redacted.
IN_FLIGHT = frozenset({"queued", "sending", "accepted", "scheduled", "receiving"})
#: Statuses in which Twilio has billed the message and shows its price.
BILLED = frozenset({"sent", "delivered", "undelivered", "received", "read"})
#: Loft's error code for acting on a message that is still in flight (Twilio documents no number for it).
STILL_IN_FLIGHT = 20009

#: Twilio's magic test numbers (twilio.com/docs/iam/test-credentials).
MAGIC_TO = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number: +15005550002, is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number +15005550009 is not a valid mobile number"),
}
MAGIC_FROM = {
    "+15005550001": (21212, "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID."),
    "+15005550007": (21606, "The From phone number +15005550007 is not a valid, SMS-capable inbound phone number or short code for your account."),
    "+15005550008": (21611, "This 'From' number has exceeded the maximum number of queued messages"),
}
MAGIC_VALID_FROM = "+15005550006"
_CHANNELS = ("whatsapp:", "messenger:", "rcs:", "fbm:", "line:", "kakao:", "viber:")


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A validated send, ready to store."""

    to: str
    from_: str
    body: str
    media_urls: list[str]
    mms: bool
    status_callback: str | None
    application_sid: str | None
    validity_period: int
    options: dict[str, Any]


#: The parameters of a plain send: a form with none but these has nothing else to check.
_PLAIN = frozenset({"To", "From", "Body", "StatusCallback", "ApplicationSid", "MessagingServiceSid"})


def validate(form: MultiDict) -> NewMessage:
    """Check a create form the way Twilio does; the first problem found is raised as Twilio's error."""
    to_raw = (form.get("To") or "").strip()
    if not to_raw:
        raise InvalidParameter(21604, "A 'To' phone number is required.")
    from_raw = (form.get("From") or "").strip()
    service_sid = (form.get("MessagingServiceSid") or "").strip()
    if not from_raw and not service_sid:
        raise InvalidParameter(21603, "A 'From' phone number is required.")
    plain = form.keys() <= _PLAIN  # only the usual parameters: the checks of the others would all pass
    if service_sid:
        if not sids.is_sid(service_sid, "MG"):
            raise InvalidParameter(21705, f"The Messaging Service Sid {service_sid} is invalid.")
        raise NotImplementedByLoft("MessagingServiceSid", "Messaging Services are not implemented yet; send with 'From'")
    if not plain:
        if form.get("ContentSid"):
            raise NotImplementedByLoft("ContentSid", "Content templates are not implemented yet; send a 'Body'")
        if form.get("ContentVariables"):
            raise InvalidParameter(21654, "ContentVariables were given without a ContentSid.")
        if form.get("FallbackFrom"):
            raise NotImplementedByLoft("FallbackFrom", "RCS fallback needs a Messaging Service with an RCS sender")
        if form.get("ScheduleType") or form.get("SendAt"):
            raise InvalidParameter(35118, "MessagingServiceSid is required to schedule a message")
        if forms.boolean(form, "ShortenUrls"):
            raise NotImplementedByLoft("ShortenUrls", "link shortening needs a Messaging Service")

    body = form.get("Body") or ""
    if not plain and forms.boolean(form, "SmartEncoded"):
        # Twilio swaps look-alikes only when that makes the whole body GSM-7 (fewer, cheaper segments).
        encoded = segments.smart_encode(body)
        body = encoded if segments.is_gsm7(encoded) else body
    media_urls = [] if plain else [url.strip() for url in form.getlist("MediaUrl") if url.strip()]
    if not body and not media_urls:
        raise InvalidParameter(21602, "Message body is required.")
    if len(body.encode("utf-16-le")) // 2 > MAX_BODY:
        raise InvalidParameter(21617, "The concatenated message body exceeds the 1600 character limit.")
    if len(media_urls) > MAX_MEDIA:
        raise InvalidParameter(21623, f"Too many media urls: {len(media_urls)}, the limit is {MAX_MEDIA}.")
    bad_media = [url for url in media_urls if not urls.is_callback_url(url)]
    if bad_media:
        raise InvalidParameter(21620, f"Media urls: {', '.join(bad_media)} are invalid. Please use only valid http and https urls")

    to = _recipient(to_raw)
    _check_sender_shape(from_raw, to)
    status_callback = urls.optional(form.get("StatusCallback") or "", "StatusCallback", code=21609)
    application_sid = (form.get("ApplicationSid") or "").strip() or None
    if application_sid and not sids.is_sid(application_sid, "AP"):
        raise InvalidParameter(20001, f"ApplicationSid '{application_sid}' is not a valid Application SID")
    validity = DEFAULT_VALIDITY if plain else (
        forms.integer(form, "ValidityPeriod", low=1, high=DEFAULT_VALIDITY) or DEFAULT_VALIDITY)
    options = {} if plain else _stored_options(form)
    return NewMessage(
        to=to,
        from_=phone.e164(from_raw) or from_raw,
        body=body,
        media_urls=media_urls,
        mms=bool(media_urls) or bool(options.get("send_as_mms")),
        status_callback=status_callback,
        application_sid=application_sid,
        validity_period=validity,
        options=options,
    )


def check(account: Account, form: MultiDict) -> NewMessage:
    """Everything about a send that needs no database, in Twilio's order: the account may send, the form is valid."""
    if not accounts.can_send(account):
        raise TwilioApiError(20005, f"Account not active: {account.sid} is {account.status} and cannot send", 403)
    return validate(form)


@dataclass(frozen=True, slots=True)
class Draft:
    """A send that passed :func:`check`, for :func:`create_many`; with ``lease``, one due at once and without
    media to fetch is recorded as claimed by that worker, and its job is returned for the caller to hand over."""

    account: Account
    new: NewMessage
    settings: Settings
    lease: outbox.Lease | None = None
    #: Its row of ``messages``, made with the draft: the write that stores it holds every other writer up, in
    #: this process and the others, and should only write.
    row: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        new = self.new
        object.__setattr__(self, "row", _row(self.settings, account_sid=self.account.sid, direction="outbound-api",
                                             from_=new.from_, to=new.to, body=new.body, mms=new.mms,
                                             num_media=len(new.media_urls), status="queued",
                                             status_callback=new.status_callback, status_callback_method="POST",
                                             application_sid=new.application_sid,
                                             validity_period=new.validity_period, options=new.options,
                                             moment=dates.now()))


Created = tuple[Record, "outbox.Job | None"]


async def create_many(conn: Conn, drafts: list[Draft]) -> list[Created | Exception]:
    """Store sends that passed :func:`check`, after the checks that need the database, in Twilio's order for each
    (the sender is the account's, the Application is, the recipient has not opted out, the sender's queue has
    room): a few statements for all of them. A send that fails a check gets its error, and nothing of it is
    written."""
    owned = await numbers.owned_senders(conn, [(draft.account.sid, draft.new.from_) for draft in drafts
                                               if draft.new.from_.startswith("+")])
    opted_out = await optout.opted_out(conn, [(draft.new.from_, draft.new.to) for draft in drafts])
    results: list[Created | Exception | None] = []
    going: list[tuple[Draft, datetime]] = []
    for draft in drafts:
        try:
            going.append((draft, await _admit(conn, draft, owned, opted_out)))
            results.append(None)
        except TwilioApiError as refused:
            results.append(refused)
    stored = iter(await store_many(conn, [_Message(
        draft.settings, account_sid=draft.account.sid, direction="outbound-api", from_=draft.new.from_,
        to=draft.new.to, body=draft.new.body, media_urls=draft.new.media_urls, mms=draft.new.mms, status="queued",
        status_callback=draft.new.status_callback, application_sid=draft.new.application_sid,
        validity_period=draft.new.validity_period, options=draft.new.options, send_at=leaves_at,
        lease=draft.lease if leaves_at <= dates.now() and not draft.new.media_urls else None, row=draft.row,
    ) for draft, leaves_at in going]))
    return [next(stored) if result is None else result for result in results]


async def _admit(conn: Conn, draft: Draft, owned: Mapping[tuple[str, str], Record],
                 opted_out: set[tuple[str, str]]) -> datetime:
    """The checks of one send that need the database (given what one query for all found); when it may leave."""
    account, new = draft.account, draft.new
    sender_type = "alphanumeric"
    if new.from_ == MAGIC_VALID_FROM:
        sender_type = "local"
    elif new.from_.startswith("+"):
        number = owned.get((account.sid, new.from_))
        if number is None or not number.capability_sms:
            raise InvalidParameter(
                21606,
                f"The From phone number {new.from_} is not a valid, SMS-capable inbound phone number or short code for your account.",
            )
        sender_type = number.number_type
    elif phone.is_short_code(new.from_):
        raise InvalidParameter(21606, f"The From short code {new.from_} is not a short code of your account.")
    if new.application_sid and not await applications.exists(conn, account.sid, new.application_sid):
        raise InvalidParameter(20001,
                               f"ApplicationSid {new.application_sid} is not an Application of this account")
    if (new.from_, new.to) in opted_out:
        raise InvalidParameter(21610, "Attempt to send to unsubscribed recipient")
    count = draft.row["num_segments"]  # 1 for MMS, else the body's SMS segments (see _row)
    # Writes nothing when it refuses (21611): a sender's queue is full only once its pace is recorded.
    return await pacing.slot(conn, new.from_, sender_type=sender_type, segments=count,
                             rates=draft.settings.rates)


_INSERT = Prepared(insert(messages).returning(messages.c.seq, messages.c.sid))
_RECORD = record_class(messages)


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
    lease: outbox.Lease | None = None
    row: dict[str, Any] | None = None  # its row, if made already (see Draft.row)


def _row(settings: Settings, *, account_sid: str, direction: str, from_: str, to: str, body: str, mms: bool,
         num_media: int, status: str, status_callback: str | None, status_callback_method: str,
         application_sid: str | None, validity_period: int, options: dict[str, Any] | None,
         moment: datetime) -> dict[str, Any]:
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
        "date_created": moment,
        "date_updated": moment,
    }


async def store(conn: Conn, settings: Settings, **message: Any) -> Created:
    """Insert a message with its media and its job (to send it, or, inbound, its webhook), all in the caller's
    transaction; the job too when ``lease`` claims it for a worker (see :func:`loft.delivery.outbox.enqueue`).
    Keyword arguments: the fields of :class:`_Message`."""
    return (await store_many(conn, [_Message(settings, **message)]))[0]


async def store_many(conn: Conn, stored: list[_Message]) -> list[Created]:
    """:func:`store` for many messages: one statement inserts them all, one their jobs."""
    if not stored:
        return []
    moment = dates.now()
    rows = [message.row if message.row is not None else _row(
        message.settings, account_sid=message.account_sid, direction=message.direction, from_=message.from_,
        to=message.to, body=message.body, mms=message.mms, num_media=len(message.media_urls),
        status=message.status, status_callback=message.status_callback,
        status_callback_method=message.status_callback_method, application_sid=message.application_sid,
        validity_period=message.validity_period, options=message.options, moment=moment,
    ) for message in stored]
    seqs = {row.sid: row.seq for row in await conn.insert_rows(_INSERT, rows)}
    for row in rows:
        metrics.reached(row["status"])
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
    jobs = await outbox.enqueue_rows(conn, [outbox.NewJob(
        kind=outbox.INBOUND if message.direction == "inbound" else outbox.SEND, subject_sid=row["sid"],
        account_sid=message.account_sid, at=message.send_at or moment, lease=message.lease,
        carrier=None if message.direction == "inbound" else _carrier(message.settings, message.to),
    ) for message, row in zip(stored, rows)])
    # What a read of each row would give, without the read: the values written, the sequence number, and the
    # columns a new message leaves empty.
    return [(_RECORD(seq=seqs[row["sid"]], error_code=None, error_message=None, messaging_service_sid=None,
                     date_sent=None, **row), job if message.lease is not None else None)
            for message, row, job in zip(stored, rows, jobs)]


def _carrier(settings: Settings, to: str) -> str | None:
    """The network carrier that takes a send to ``to`` (None: the simulator), by the carriers file's routes."""
    name = carrier_plan.load(settings.carriers_file).route(to)
    return None if name == carrier_plan.SIM else name


_BY_SID = Prepared(select(messages).where(messages.c.sid == bindparam("sid")))


async def load(conn: Conn, sid: str) -> Record | None:
    """The message ``sid``, whichever account it belongs to (for delivery and webhooks)."""
    return (await conn.execute(_BY_SID, {"sid": sid})).first()


async def get(conn: Conn, account: Account, sid: str, *, path: str) -> Record:
    """The message ``sid`` of ``account``; 404 (20404) when it is not one of the account's."""
    row = await load(conn, sid)
    if row is None or row.account_sid != account.sid:
        raise NotFound(path)
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


async def redact_or_cancel(conn: Conn, account: Account, sid: str, form: MultiDict, *, path: str) -> Record:
    row = await get(conn, account, sid, path=path)
    values: dict[str, Any] = {}
    status = form.get("Status")
    if status is not None:
        if status != "canceled":
            raise InvalidParameter(20001, f"Status can only be updated to 'canceled', not '{status}'")
        if row.status != "scheduled":
            raise InvalidParameter(STILL_IN_FLIGHT if row.status in IN_FLIGHT else 20001,
                                   f"Message {sid} cannot be canceled: only a scheduled message can be, and its status is {row.status}")
        values["status"] = "canceled"
    if "Body" in form:
        if form["Body"] != "":
            raise InvalidParameter(20001, "Body can only be updated to an empty string, which redacts the message")
        if row.status in IN_FLIGHT and "status" not in values:
            raise InvalidParameter(STILL_IN_FLIGHT, f"Message {sid} cannot be redacted while it is {row.status}")
        values["body"] = ""
    if values:
        values["date_updated"] = dates.now()
        await conn.execute(update(messages).where(messages.c.sid == sid).values(**values))
        if "status" in values:
            metrics.reached(values["status"])
    return await get(conn, account, sid, path=path)


async def remove(conn: Conn, account: Account, sid: str, *, path: str) -> None:
    row = await get(conn, account, sid, path=path)
    if row.status in IN_FLIGHT:
        raise InvalidParameter(STILL_IN_FLIGHT, f"Message {sid} cannot be deleted while it is {row.status}")
    await conn.execute(delete(message_media).where(message_media.c.message_sid == sid))
    await conn.execute(delete(message_feedback).where(message_feedback.c.message_sid == sid))
    await conn.execute(delete(messages).where(messages.c.sid == sid))


def render(row: Row[Any]) -> dict[str, Any]:
    r = row._mapping
    base = f"/{API_VERSION}/Accounts/{r['account_sid']}/Messages/{r['sid']}"
    subresources = {"media": f"{base}/Media.json"}
    if r["options"].get("provide_feedback"):
        subresources["feedback"] = f"{base}/Feedback.json"
    return {
        "account_sid": r["account_sid"],
        "api_version": API_VERSION,
        "body": r["body"],
        "date_created": dates.rfc2822(r["date_created"]),
        "date_sent": dates.rfc2822(r["date_sent"]),
        "date_updated": dates.rfc2822(r["date_updated"]),
        "direction": r["direction"],
        "error_code": r["error_code"],
        "error_message": r["error_message"],
        "from": r["from_addr"],
        "messaging_service_sid": r["messaging_service_sid"],
        "num_media": str(r["num_media"]),
        "num_segments": str(r["num_segments"]),
        "price": r["price_quote"] if r["status"] in BILLED else None,
        "price_unit": r["price_unit"],
        "sid": r["sid"],
        "status": r["status"],
        "subresource_uris": subresources,
        "to": r["to_addr"],
        "uri": f"{base}.json",
    }


# Media ---------------------------------------------------------------------------------------------------


async def media_page(conn: Conn, message: Row[Any], query: Mapping[str, str],
                     request: paging.PageRequest) -> tuple[list[Row[Any]], bool]:
    where = [message_media.c.message_sid == message.sid]
    where += pages.date_filters(message_media.c.date_created, query, "DateCreated")
    return await pages.fetch(conn, message_media, where=where, order=("position",), descending=False,
                             request=request)


async def media_item(conn: Conn, message: Row[Any], sid: str, *, path: str) -> Row[Any]:
    row = (
        await conn.execute(
            select(message_media).where(message_media.c.sid == sid, message_media.c.message_sid == message.sid)
        )
    ).first()
    if row is None:
        raise NotFound(path)
    return row


async def remove_media(conn: Conn, message: Row[Any], sid: str, *, path: str) -> None:
    await media_item(conn, message, sid, path=path)
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


async def give_feedback(conn: Conn, message: Row[Any], form: MultiDict) -> Row[Any]:
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


# Validation helpers --------------------------------------------------------------------------------------


def _recipient(text: str) -> str:
    if text.lower().startswith(_CHANNELS):
        raise NotImplementedByLoft("To", "channel addresses (whatsapp:, rcs:, messenger:, …) are not supported yet")
    if text in MAGIC_TO:
        code, message = MAGIC_TO[text]
        raise InvalidParameter(code, message)
    number = phone.e164(text)
    if number is None:
        raise InvalidParameter(21211, f"The 'To' number {text} is not a valid phone number.")
    return number


def _check_sender_shape(text: str, to: str) -> None:
    """Everything about ``From`` that needs no database: magic numbers, format, To == From."""
    if text.lower().startswith(_CHANNELS):
        raise NotImplementedByLoft("From", "channel addresses (whatsapp:, rcs:, messenger:, …) are not supported yet")
    if text in MAGIC_FROM:
        code, message = MAGIC_FROM[text]
        raise InvalidParameter(code, message)
    number = phone.e164(text) if text.startswith("+") else None
    if number is not None:
        if number == to:
            raise InvalidParameter(21266, f"'To' and 'From' number cannot be the same: {to}")
        return
    if phone.is_short_code(text):
        return
    if phone.is_alphanumeric_sender(text):
        if phone.country_code(to) == 1:
            raise InvalidParameter(
                21612,
                f"The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {text} via SMS.",
            )
        return
    raise InvalidParameter(21212, f"The 'From' number {text} is not a valid phone number, shortcode, or alphanumeric sender ID.")


def _stored_options(form: MultiDict) -> dict[str, Any]:
    """Parameters that are validated and kept with the message (Twilio accepts them; they change no delivery)."""
    options: dict[str, Any] = {}
    if form.get("MaxPrice"):
        try:
            float(form["MaxPrice"])
        except ValueError:
            raise InvalidParameter(20001, f"MaxPrice must be a number, not '{form['MaxPrice']}'") from None
        # Obsolete at Twilio since 2024-06-03: accepted, without effect.
    for parameter, key in (("ProvideFeedback", "provide_feedback"), ("ForceDelivery", "force_delivery"),
                           ("SendAsMms", "send_as_mms"), ("SmartEncoded", "smart_encoded")):
        value = forms.boolean(form, parameter)
        if value is not None:
            options[key] = value
    attempt = forms.integer(form, "Attempt", low=1, high=1_000_000)
    if attempt is not None:
        options["attempt"] = attempt
    if forms.choice(form, "ContentRetention", ("retain", "discard")) == "discard":
        raise NotImplementedByLoft("ContentRetention", "'discard' is not implemented yet; bodies are retained")
    if forms.choice(form, "AddressRetention", ("retain", "obfuscate")) == "obfuscate":
        raise NotImplementedByLoft("AddressRetention", "'obfuscate' is not implemented yet; addresses are retained")
    if forms.choice(form, "TrafficType", ("free",)) is not None:
        raise NotImplementedByLoft("TrafficType", "free traffic (WhatsApp) is not implemented yet")
    risk = forms.choice(form, "RiskCheck", ("enable", "disable"))
    if risk is not None:
        options["risk_check"] = risk
    actions = [value for value in form.getlist("PersistentAction") if value]
    if actions:
        options["persistent_action"] = actions
    return options
