"""Inbound messages: route to the service's, the number's or its Application's URL, fall back, follow TwiML.

Routing follows Twilio: a message to a number in a Messaging Service's pool (it carries the service's SID, see
:func:`loft.messages.intake.accept`) goes to the service's ``InboundRequestUrl`` and ``FallbackUrl``; with the
service's ``UseInboundWebhookOnNumber`` the number's own webhook wins, when it has one (a number without one
leaves the service's URLs in place: Twilio documents the number's URL as *overriding* the service's). A service
without an ``InboundRequestUrl`` routes nowhere: the message is stored, and no request is made. Otherwise a
number's ``SmsApplicationSid`` wins over its own ``SmsUrl``. The request carries Twilio's inbound parameters
(``MessagingServiceSid`` too, for a pool number), signed. On a connection failure, a timeout, a non-2xx answer
or TwiML that cannot be used, the fallback URL is requested with ``ErrorCode`` and ``ErrorUrl`` added.
``<Message>`` verbs become ``outbound-reply`` messages on the normal outbound path; ``<Redirect>`` fetches the
next document (at most 50 per reply session: 14106); more than 15 replies between the same two numbers in 30
seconds are cut (14107).

A message to an RCS sender (``rcs:<agent>``: an RCS handset's reply or button tap) routes the same way, the
sender standing for the number: its service's URLs, else the sender's own ``webhook`` (``callback_url``,
``fallback_url``); a tap adds ``ButtonPayload`` and ``ButtonText`` to the parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import phonenumbers
from sqlalchemy import Row, func, insert, select

from loft.accounts import service as accounts
from loft.context import Loft
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.tables import applications, incoming_phone_numbers, messages, webhook_attempts
from loft.delivery import lifecycle, outbox
from loft.delivery.outbox import Job
from loft.kit import dates, phone
from loft.messages import media as media_content
from loft.messages import service as message_service
from loft.messages import validation
from loft.messaging_services import service as services
from loft.messaging_services.service import Service
from loft.senders import service as channel_senders
from loft.webhooks import attempts, sender, twiml

MAX_DOCUMENTS = 50
#: A button tap's parameters (Twilio's names) → the message options that keep them.
BUTTON_OPTIONS = {"ButtonPayload": "button_payload", "ButtonText": "button_text"}
LOOP_WINDOW = timedelta(seconds=30)
LOOP_LIMIT = 15


@dataclass(frozen=True, slots=True)
class Route:
    url: str | None
    method: str
    fallback_url: str | None
    fallback_method: str


@dataclass(slots=True)
class Session:
    """What one inbound message's webhook exchange produced, written in one transaction at the end."""

    requests: list[tuple[str, sender.WebhookRequest, sender.Outcome]]
    replies: list[twiml.MessageVerb]
    errors: list[tuple[str, int, str]]


async def route_for(conn: Conn, message: Row[Any]) -> Route | None:
    """Where ``message``'s webhook goes (None, or a route without a URL: nowhere); see the module's docstring."""
    service = None
    if message.messaging_service_sid:
        service = await services.find(conn, message.account_sid, message.messaging_service_sid)
    if service is not None and not service.use_inbound_webhook_on_number:
        return _service_route(service)
    own = await _number_route(conn, message)
    if service is not None and (own is None or not own.url):
        return _service_route(service)
    return own


def _service_route(service: Service) -> Route:
    return Route(service.inbound_request_url, service.inbound_method, service.fallback_url, service.fallback_method)


async def _number_route(conn: Conn, message: Row[Any]) -> Route | None:
    """The number's webhook: its Application's, if it has one, else its own (an RCS sender's: its ``webhook``)."""
    if message.to_addr.startswith(phone.RCS_PREFIX):
        return await _sender_route(conn, message)
    number = (
        await conn.execute(
            select(incoming_phone_numbers).where(incoming_phone_numbers.c.phone_number == message.to_addr,
                                                 incoming_phone_numbers.c.account_sid == message.account_sid)
        )
    ).first()
    if number is None:
        return None
    if number.sms_application_sid:
        app = (
            await conn.execute(
                select(applications).where(applications.c.sid == number.sms_application_sid,
                                           applications.c.account_sid == message.account_sid)
            )
        ).first()
        if app is not None:
            return Route(app.sms_url, app.sms_method, app.sms_fallback_url, app.sms_fallback_method)
    return Route(number.sms_url, number.sms_method, number.sms_fallback_url, number.sms_fallback_method)


async def _sender_route(conn: Conn, message: Row[Any]) -> Route | None:
    """The RCS sender's own webhook, if the sender is still the message's account's."""
    found = await channel_senders.by_sender_id(conn, message.to_addr)
    if found is None or found.account_sid != message.account_sid:
        return None
    hook = found.webhook
    return Route(hook.get("callback_url"), hook.get("callback_method") or "POST", hook.get("fallback_url"),
                 hook.get("fallback_method") or "POST")


def _place(number: str) -> tuple[str, str, str]:
    """(city, state, country) of a number, where libphonenumber knows them."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "", "", ""
    country = phone.country(number) or ""
    city, state = "", ""
    if parsed.country_code == 1:
        description = phone.place(number)
        if ", " in description:
            city, state = description.rsplit(", ", 1)
    return city, state, country


def parameters(message: Row[Any], media: list[tuple[str, str]]) -> list[tuple[str, str]]:
    from_city, from_state, from_country = _place(message.from_addr)
    to_city, to_state, to_country = _place(message.to_addr)
    params = [
        ("ToCountry", to_country), ("ToState", to_state), ("SmsMessageSid", message.sid),
        ("NumMedia", str(len(media))), ("ToCity", to_city), ("FromZip", ""), ("SmsSid", message.sid),
        ("FromState", from_state), ("SmsStatus", "received"), ("FromCity", from_city), ("Body", message.body),
        ("FromCountry", from_country), ("To", message.to_addr), ("ToZip", ""),
        ("NumSegments", str(message.num_segments)), ("ReferralNumMedia", "0"), ("MessageSid", message.sid),
        ("AccountSid", message.account_sid), ("From", message.from_addr), ("ApiVersion", accounts.API_VERSION),
    ]
    for index, (url, content_type) in enumerate(media):
        params += [(f"MediaUrl{index}", url), (f"MediaContentType{index}", content_type)]
    if message.messaging_service_sid:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    if message.options.get("opt_out_type"):
        params.append(("OptOutType", str(message.options["opt_out_type"])))
    for name, option in BUTTON_OPTIONS.items():
        if message.options.get(option) is not None:
            params.append((name, str(message.options[option])))
    return params


def _token(message: Row[Any], step: int) -> str:
    return hashlib.sha256(f"{message.account_sid}:{message.sid}:inbound:{step}".encode()).hexdigest()[:40]


async def _request(loft: Loft, session: Session, kind: str, message: Row[Any], token: str, url: str,
                   method: str, params: list[tuple[str, str]]) -> tuple[list[twiml.Verb] | None, int, str]:
    """Request one TwiML document: its verbs, or None with the error code and message."""
    request = sender.WebhookRequest(url=url, method="GET" if method == "GET" else "POST", params=params,
                                    auth_token=token, idempotency_token=_token(message, len(session.requests)),
                                    expect_twiml=True)
    outcome = await sender.send(loft.http, request)
    session.requests.append((kind, request, outcome))
    if not outcome.ok:
        last = outcome.attempts[-1] if outcome.attempts else None
        code = last.error_code if last and last.error_code else 11200
        return None, code, (last.error_message if last and last.error_message else "HTTP retrieval failure")
    try:
        document = twiml.parse(outcome.body, outcome.content_type, base_url=url)
    except twiml.TwimlError as exc:
        session.errors.append((url, exc.code, exc.message))
        return None, exc.code, exc.message
    for code, text in document.warnings:
        session.errors.append((url, code, text))
    return list(document.verbs), 0, ""


async def converse(loft: Loft, message: Row[Any], route: Route, token: str,
                   media: list[tuple[str, str]]) -> Session:
    session = Session(requests=[], replies=[], errors=[])
    params = parameters(message, media)
    assert route.url is not None
    verbs, code, text = await _request(loft, session, attempts.INBOUND, message, token, route.url,
                                       route.method, params)
    if verbs is None and route.fallback_url:
        fallback_params = [*params, ("ErrorCode", str(code)), ("ErrorUrl", route.url)]
        verbs, code, text = await _request(loft, session, attempts.FALLBACK, message, token,
                                           route.fallback_url, route.fallback_method, fallback_params)
    documents = 1
    while verbs:
        redirect: twiml.RedirectVerb | None = None
        for verb in verbs:
            if isinstance(verb, twiml.RedirectVerb):
                redirect = verb
                break
            session.replies.append(verb)
        if redirect is None:
            break
        documents += 1
        if documents > MAX_DOCUMENTS:
            session.errors.append((redirect.url, 14106, "Too many TwiML documents fetched in one reply session"))
            break
        verbs, code, text = await _request(loft, session, attempts.REDIRECT, message, token, redirect.url,
                                           redirect.method, params)
    return session


async def handle(loft: Loft, job: Job) -> None:
    async with loft.db.read() as conn:
        message = await message_service.load(conn, job.subject_sid)
    if message is None:
        async with loft.db.write() as conn:
            await outbox.complete(conn, job)
        return
    media: list[tuple[str, str]] = []
    media_error: int | None = None
    if message.num_media:
        fetched = await media_content.fetch_and_store(loft, message.sid)
        if isinstance(fetched, int):
            media_error = fetched
        else:
            media = fetched
    async with loft.db.write() as conn:
        if message.status == "receiving":
            await lifecycle.change(conn, message, "received", error_code=media_error, date_sent=dates.now())
        elif message.date_sent is None:
            await lifecycle.change(conn, message, message.status, date_sent=dates.now())
        route = await route_for(conn, message)
        account = await accounts.get(conn, loft.box, message.account_sid)
    if route is None or not route.url or account is None:
        async with loft.db.write() as conn:
            await outbox.complete(conn, job)
        return
    session = await converse(loft, message, route, account.auth_token, media)
    async with loft.db.write() as conn:
        for kind, request, outcome in session.requests:
            await attempts.record(conn, account_sid=message.account_sid, message_sid=message.sid, kind=kind,
                                  request=request, outcome=outcome)
        for verb in session.replies:
            problem = await _reply(loft, conn, message, verb)
            if problem is not None:
                session.errors.append(("", *problem))
        for url, code, text in session.errors:
            await conn.execute(
                insert(webhook_attempts).values(
                    account_sid=message.account_sid, message_sid=message.sid, kind="twiml", attempt=0, url=url,
                    method="", request_params=[], idempotency_token="", status_code=None, latency_ms=0,
                    response_excerpt="", error_code=code, error_message=text, date_created=dates.now(),
                )
            )
        await outbox.complete(conn, job)


async def _reply(loft: Loft, conn: Conn, inbound: Row[Any], verb: twiml.MessageVerb) -> tuple[int, str] | None:
    """Queue one ``<Message>`` reply; a (code, text) problem instead when Twilio would refuse it."""
    to = phone.e164(verb.to) if verb.to else inbound.from_addr
    if to is None:
        return 14101, f"Invalid To attribute: {verb.to}"
    sender_number = inbound.to_addr
    if verb.from_:
        wanted = phone.e164(verb.from_) or verb.from_
        owned = (
            await conn.execute(
                select(incoming_phone_numbers.c.sid).where(incoming_phone_numbers.c.phone_number == wanted,
                                                           incoming_phone_numbers.c.account_sid == inbound.account_sid)
            )
        ).first()
        if owned is None:
            return 14102, f"Invalid From attribute: {verb.from_}"
        sender_number = wanted
    if len(verb.body.encode("utf-16-le")) // 2 > validation.MAX_BODY:
        return 14103, "Invalid Body: the message body exceeds the 1600 character limit."
    await upsert.lock(conn, f"replies:{sender_number}:{to}")
    recent = (
        await conn.execute(
            select(func.count()).select_from(messages).where(
                messages.c.direction == "outbound-reply", messages.c.from_addr == sender_number,
                messages.c.to_addr == to, messages.c.date_created >= dates.now() - LOOP_WINDOW,
            )
        )
    ).scalar_one()
    if recent >= LOOP_LIMIT:
        return 14107, f"Reply loop: more than {LOOP_LIMIT} replies from {sender_number} to {to} in 30 seconds"
    await message_service.store(
        conn, loft.settings, account_sid=inbound.account_sid, direction="outbound-reply", from_=sender_number,
        to=to, body=verb.body, media_urls=list(verb.media), mms=bool(verb.media), status="queued",
        status_callback=verb.action, status_callback_method=verb.method,
    )
    return None
