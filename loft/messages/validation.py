"""The checks of a send that need no database, in Twilio's order and with its codes
(reference/twilio-messaging-facts.md section 6), including the magic test numbers of Twilio's test credentials.

:func:`validate` is what ``POST …/Messages`` checks before it looks at the account's numbers; the terminal tools
run it too, to refuse a bulk send's bad rows before anything is sent. :func:`check_sender` is the part of it that
concerns the sender alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loft.content import render
from loft.errors import InvalidParameter, NotImplementedByLoft
from loft.kit import dates, forms, phone, segments, sids, urls
from loft.messages import retention

MAX_BODY = 1600
MAX_MEDIA = 10
DEFAULT_VALIDITY = 36000

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
#: How far ahead a scheduled message may be sent (``SendAt``): Twilio's pages disagree (300 s or 900 s at least,
#: 7 or 35 days at most); Loft takes the widest window they describe, so that whatever works at Twilio works here.
SCHEDULE_AT_LEAST = timedelta(seconds=300)
SCHEDULE_AT_MOST = timedelta(days=35)


@dataclass(slots=True)
class NewMessage:
    """A validated send, ready to store: a value, never changed once made (``dataclasses.replace`` makes a changed
    copy), but not ``frozen``, which would set each of its fields through ``object.__setattr__`` at every create."""

    to: str
    from_: str
    body: str
    media_urls: list[str]
    mms: bool
    status_callback: str | None
    application_sid: str | None
    validity_period: int
    options: dict[str, Any]
    #: The Messaging Service it is sent through (``MessagingServiceSid``, or ``From`` = the service's SID).
    messaging_service_sid: str | None = None
    #: When a scheduled message is to leave (``ScheduleType=fixed`` + ``SendAt``); None: at once.
    send_at: datetime | None = None
    #: The content template it sends (``ContentSid``), with the send's ``ContentVariables``, checked.
    content_sid: str | None = None
    content_variables: dict[str, str] = field(default_factory=dict)
    #: The sender an RCS send falls back to SMS/MMS from (``FallbackFrom``), instead of the pool's choice.
    fallback_from: str | None = None


#: The parameters of a plain send: a form with none but these has nothing else to check.
_PLAIN = frozenset({"To", "From", "Body", "StatusCallback", "ApplicationSid", "MessagingServiceSid"})


def validate(form: forms.Form) -> NewMessage:
    """Check a create form the way Twilio does; the first problem found is raised as Twilio's error."""
    to_raw = (form.get("To") or "").strip()
    if not to_raw:
        raise InvalidParameter(21604, "A 'To' phone number is required.")
    from_raw = (form.get("From") or "").strip()
    service_sid = (form.get("MessagingServiceSid") or "").strip()
    if not from_raw and not service_sid:
        if (form.get("FallbackFrom") or "").strip():
            raise InvalidParameter(21666, "FallbackFrom needs a MessagingServiceSid: a Messaging Service with an "
                                          "RCS sender falls back to it.")
        raise InvalidParameter(21603, "A 'From' phone number is required.")
    if from_raw[:2] == "MG" and sids.is_sid(from_raw, "MG"):
        service_sid, from_raw = from_raw, ""  # Twilio takes a service's SID as From: sent through the service
    plain = form.keys() <= _PLAIN  # only the usual parameters: the checks of the others would all pass
    if service_sid:
        _check_service(service_sid)
    send_at = None
    content_sid: str | None = None
    content_variables: dict[str, str] = {}
    fallback_from: str | None = None
    if not plain:
        content_sid, content_variables = _content(form)
        fallback_from = _fallback_from(form, from_raw, service_sid)
        if form.get("ScheduleType") or form.get("SendAt"):
            send_at = _schedule(form, service_sid)
        if forms.boolean(form, "ShortenUrls"):
            raise NotImplementedByLoft("ShortenUrls", "link shortening needs a Messaging Service")

    body = form.get("Body") or ""
    if not plain and forms.boolean(form, "SmartEncoded"):
        body = segments.smart_encoded(body)
    media_urls = [] if plain else [url.strip() for url in form.getlist("MediaUrl") if url.strip()]
    if content_sid is not None:
        body, media_urls = "", []  # the template's, once it is found (loft.messages.service.create_many)
    elif not body and not media_urls:
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
    if fallback_from is not None:
        _check_sender_shape(fallback_from, to)
        fallback_from = phone.e164(fallback_from) or fallback_from
    if to.startswith(phone.RCS_PREFIX) and not (service_sid or from_raw.startswith(phone.RCS_PREFIX)):
        raise InvalidParameter(21612, f"The 'To' address {to} is reachable over RCS only: send it through a "
                                      "Messaging Service with an RCS sender, or from an RCS sender (rcs:<agent>).")
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
        messaging_service_sid=service_sid or None,
        send_at=send_at,
        content_sid=content_sid,
        content_variables=content_variables,
        fallback_from=fallback_from,
    )


def _content(form: forms.Form) -> tuple[str | None, dict[str, str]]:
    """``ContentSid`` and ``ContentVariables``: the template's SID (its shape; whether it is the account's is the
    create's to check, 21655 too) and the variables, checked (21656); variables without a template: 21654."""
    content_sid = (form.get("ContentSid") or "").strip()
    given = form.get("ContentVariables")
    if not content_sid:
        if given:
            raise InvalidParameter(21654, "ContentVariables were given without a ContentSid.")
        return None, {}
    if not sids.is_sid(content_sid, "HX"):
        raise InvalidParameter(21655, f"The ContentSid {content_sid} is invalid: a content template's SID is HX "
                                      "followed by 32 hexadecimal digits.")
    return content_sid, render.variables(given)


def _fallback_from(form: forms.Form, from_raw: str, service_sid: str) -> str | None:
    """``FallbackFrom``: the sender an RCS send falls back from, only beside a Messaging Service (21666), not with
    a ``From`` (21664); whether the service has an RCS sender (21667) is the create's to check."""
    fallback_from = (form.get("FallbackFrom") or "").strip()
    if not fallback_from:
        return None
    if from_raw:
        raise InvalidParameter(21664, "FallbackFrom cannot be used with From: send through a Messaging Service "
                                      "(MessagingServiceSid) with an RCS sender.")
    if not service_sid:
        raise InvalidParameter(21666, "FallbackFrom needs a MessagingServiceSid: a Messaging Service with an RCS "
                                      "sender falls back to it.")
    if fallback_from.lower().startswith(_CHANNELS):
        raise InvalidParameter(21212, f"FallbackFrom {fallback_from} is not a phone number, short code or "
                                      "alphanumeric sender ID.")
    return fallback_from


def _recipient(text: str) -> str:
    if text.lower().startswith(phone.RCS_PREFIX):
        number = phone.e164(text[len(phone.RCS_PREFIX):])
        if number is None:
            raise InvalidParameter(21211, f"The 'To' number {text} is not a valid phone number.")
        return phone.RCS_PREFIX + number  # over RCS only, never falling back to SMS
    if text.lower().startswith(_CHANNELS):
        raise NotImplementedByLoft("To", "channel addresses (whatsapp:, messenger:, …) are not supported yet")
    if text in MAGIC_TO:
        code, message = MAGIC_TO[text]
        raise InvalidParameter(code, message)
    number = phone.e164(text)
    if number is None:
        raise InvalidParameter(21211, f"The 'To' number {text} is not a valid phone number.")
    return number


def check_sender(from_: str, messaging_service_sid: str = "") -> None:
    """What :func:`validate` checks of the sender alone (``From``, ``MessagingServiceSid``), in its order: the
    checks that need a recipient (To == From, an alphanumeric ID to a +1 number) and the account's numbers are
    not made here."""
    from_, messaging_service_sid = from_.strip(), messaging_service_sid.strip()
    if not from_ and not messaging_service_sid:
        raise InvalidParameter(21603, "A 'From' phone number is required.")
    if from_[:2] == "MG" and sids.is_sid(from_, "MG"):
        messaging_service_sid, from_ = from_, ""
    if messaging_service_sid:
        _check_service(messaging_service_sid)
    _check_sender_shape(from_, None)


def _check_service(service_sid: str) -> None:
    """The shape of a Messaging Service's SID; whether it is the account's is the create's to check (21705)."""
    if not sids.is_sid(service_sid, "MG"):
        raise InvalidParameter(21705, f"The Messaging Service Sid {service_sid} is invalid.")


def _schedule(form: forms.Form, service_sid: str) -> datetime:
    """When a scheduled send leaves: ``ScheduleType=fixed`` with ``SendAt`` (ISO 8601) within Loft's window
    (:data:`SCHEDULE_AT_LEAST` … :data:`SCHEDULE_AT_MOST` from now), through a Messaging Service."""
    if not service_sid:
        raise InvalidParameter(35118, "MessagingServiceSid is required to schedule a message")
    schedule_type = (form.get("ScheduleType") or "").strip()
    text = (form.get("SendAt") or "").strip()
    if not schedule_type:
        raise InvalidParameter(35119, "SendAt requires ScheduleType=fixed to schedule a message")
    if schedule_type != "fixed":
        raise InvalidParameter(35126, f"ScheduleType '{schedule_type}' is invalid: the only type is 'fixed'")
    if not text:
        raise InvalidParameter(35111, "SendAt is required to schedule a message (ScheduleType=fixed)")
    try:
        send_at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(35114, f"SendAt '{text}' is not an ISO 8601 date and time") from None
    send_at = dates.as_utc(send_at)
    ahead = send_at - dates.now()
    if ahead < SCHEDULE_AT_LEAST:
        raise InvalidParameter(35114, f"SendAt must be at least {int(SCHEDULE_AT_LEAST.total_seconds())} seconds "
                                      "in the future")
    if ahead > SCHEDULE_AT_MOST:
        raise InvalidParameter(35115, f"SendAt must be at most {SCHEDULE_AT_MOST.days} days in the future")
    return send_at


def _check_sender_shape(text: str, to: str | None) -> None:
    """Everything about ``From`` that needs no database: magic numbers, format, To == From (``to``: None when
    there is no recipient to compare with yet); none given (a Messaging Service chooses): nothing to check."""
    if not text:
        return
    if text.startswith(phone.RCS_PREFIX):
        return  # an RCS sender: whether it is the account's is the create's to check (63007)
    if text.lower().startswith(_CHANNELS):
        raise NotImplementedByLoft("From", "channel addresses (whatsapp:, messenger:, …) are not supported yet")
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
        if to is not None and phone.country_code(to) == 1:
            raise InvalidParameter(
                21612,
                f"The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {text} via SMS.",
            )
        return
    raise InvalidParameter(21212, f"The 'From' number {text} is not a valid phone number, shortcode, or alphanumeric sender ID.")


def _stored_options(form: forms.Form) -> dict[str, Any]:
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
    for parameter, (option, asked) in (("ContentRetention", retention.DISCARD),
                                       ("AddressRetention", retention.OBFUSCATE)):
        if forms.choice(form, parameter, ("retain", asked)) == asked:
            options[option] = asked  # (see loft.messages.retention)
    if forms.choice(form, "TrafficType", ("free",)) is not None:
        raise NotImplementedByLoft("TrafficType", "free traffic (WhatsApp) is not implemented yet")
    risk = forms.choice(form, "RiskCheck", ("enable", "disable"))
    if risk is not None:
        options["risk_check"] = risk
    actions = [value for value in form.getlist("PersistentAction") if value]
    if actions:
        options["persistent_action"] = actions
    return options
