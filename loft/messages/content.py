"""A send's channel, at its create: its content template rendered, its RCS sender and fallback checked.

What a create with ``ContentSid`` (and ``ContentVariables``), ``FallbackFrom``, ``From`` an RCS sender or ``To``
an ``rcs:`` address becomes before it is stored (:func:`resolve`), with Twilio's codes:

- the template must be the account's (21655, an unknown or deleted one too); its variables filled in (21656 for a
  placeholder with no value: :func:`loft.content.render.render`);
- **through a Messaging Service** (no ``From``), the channel is chosen when the message leaves
  (:mod:`loft.delivery.selection`): RCS when the service's pool has an RCS sender and the handset supports RCS,
  else SMS/MMS. The message is stored with the template rendered (option :data:`RENDERED`) for the RCS leg, and
  with the body (and media) of its SMS/MMS translation (:func:`loft.content.channels.sms`); a template without
  one fails with 19023 should it have to fall back. ``FallbackFrom`` and ``To=rcs:+…`` (RCS only, no fallback)
  need an RCS sender in the service's pool (21667);
- **from an RCS sender** (``From=rcs:<agent>``, the account's, online; else 63007), the message goes over RCS
  only: what the handset shows (:func:`loft.content.channels.rcs`) is stored with it (option
  :data:`loft.delivery.carriers.sim.CONTENT_OPTION`; 63021 for a template RCS shows nothing of);
- **from a phone number, short code or alphanumeric ID**, the SMS/MMS translation is sent (19023, a 400, for a
  template that has none: nothing can be sent).

The message's ``body`` is the SMS/MMS translation's, or, for a template that has none, the rich content's text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from loft.content import channels, render
from loft.content import service as contents
from loft.content.service import Content
from loft.db.engine import Conn
from loft.delivery.carriers.sim import CONTENT_OPTION
from loft.errors import InvalidParameter
from loft.kit import phone, urls
from loft.messages.validation import MAX_BODY, NewMessage
from loft.messaging_services import pool
from loft.senders import service as senders
from loft.senders.service import ChannelSender

#: A message option: its template rendered (``{type: fields}``), for the RCS leg chosen when it leaves.
RENDERED: Final = "rendered"
#: Twilio's codes: a template that is not the account's; a service without an RCS sender for ``FallbackFrom`` or
#: an RCS-only recipient; an RCS sender that is not the account's (or not online); content RCS cannot show.
UNKNOWN_TEMPLATE: Final = 21655
NO_RCS_SENDER: Final = 21667
UNKNOWN_CHANNEL: Final = 63007
INVALID_CONTENT: Final = 63021


@dataclass(frozen=True, slots=True)
class Found:
    """What :func:`resolve` needs from the database for a batch of sends, read by :func:`look_up`."""

    templates: Mapping[str, Content] = field(default_factory=dict)
    #: The RCS senders' addresses in each service's pool, by service SID.
    channel_senders: Mapping[str, list[str]] = field(default_factory=dict)
    #: The RCS senders named as ``From``, by address.
    rcs_senders: Mapping[str, ChannelSender | None] = field(default_factory=dict)


def concerned(new: NewMessage) -> bool:
    """Whether :func:`resolve` has anything to do with ``new`` (most sends: no)."""
    return (new.content_sid is not None or new.fallback_from is not None
            or new.from_.startswith(phone.RCS_PREFIX) or new.to.startswith(phone.RCS_PREFIX))


async def look_up(conn: Conn, sends: Collection[NewMessage]) -> Found:
    """The templates, pools' RCS senders and RCS ``From`` senders the sends concerned name (a query for each
    kind that is named at all: none for a batch of plain sends)."""
    sends = [new for new in sends if concerned(new)]
    if not sends:
        return Found()
    template_sids = {new.content_sid for new in sends if new.content_sid is not None}
    services = {new.messaging_service_sid for new in sends if new.messaging_service_sid is not None
                and (new.fallback_from is not None or new.to.startswith(phone.RCS_PREFIX))}
    rcs_from = {new.from_ for new in sends if new.from_.startswith(phone.RCS_PREFIX)}
    return Found(
        templates=await contents.find_many(conn, template_sids) if template_sids else {},
        channel_senders=await pool.channel_senders_of(conn, services) if services else {},
        rcs_senders={address: await senders.by_sender_id(conn, address) for address in sorted(rcs_from)},
    )


def resolve(account_sid: str, new: NewMessage, found: Found) -> NewMessage:
    """``new`` as it is stored (see the module's docstring): the template's translation as its body and media,
    its rendering or RCS content in its options; Twilio's error for the first problem found."""
    if not concerned(new):
        return new
    rcs_sender = new.from_.startswith(phone.RCS_PREFIX)
    if rcs_sender:
        sender = found.rcs_senders.get(new.from_)
        if sender is None or sender.account_sid != account_sid or sender.status != senders.ONLINE:
            raise InvalidParameter(UNKNOWN_CHANNEL, f"Twilio could not find a Channel with the specified From "
                                                    f"address: {new.from_} is not an online RCS sender of this "
                                                    "account.")
    elif new.messaging_service_sid is not None and (new.fallback_from is not None
                                                    or new.to.startswith(phone.RCS_PREFIX)):
        if not found.channel_senders.get(new.messaging_service_sid):
            what = "FallbackFrom" if new.fallback_from is not None else f"the RCS-only recipient {new.to}"
            raise InvalidParameter(NO_RCS_SENDER, f"The Messaging Service {new.messaging_service_sid} has no RCS "
                                                  f"sender, which {what} needs: add one (ChannelSenders).")
    if new.fallback_from is not None:  # the sender the service's RCS send falls back from, when it leaves
        new = replace(new, options={**new.options, "fallback_from": new.fallback_from})
    if new.content_sid is None:
        return new
    template = found.templates.get(new.content_sid)
    if template is None or template.account_sid != account_sid:
        raise InvalidParameter(UNKNOWN_TEMPLATE, f"The ContentSid {new.content_sid} is invalid: it is not a "
                                                 "content template of this account.")
    rendered = render.render(template, new.content_variables)
    options: dict[str, Any] = {**new.options, "content_sid": template.sid}
    plain = channels.sms(rendered)
    if rcs_sender:
        shown = channels.rcs(rendered)
        if shown is None:
            raise InvalidParameter(INVALID_CONTENT, f"Content {template.sid} has no type RCS shows (text, media, "
                                                    "quick-reply, call-to-action, card, carousel).")
        options[CONTENT_OPTION] = shown
        return _with(new, body=plain.body if plain else channels.summary(rendered), media=[], options=options)
    if new.messaging_service_sid is not None and not new.from_:
        options[RENDERED] = rendered
    elif plain is None:
        raise InvalidParameter(channels.NO_FALLBACK, f"Content {template.sid} has no twilio/text or twilio/media "
                                                     f"translation to send as SMS or MMS from {new.from_}.")
    if plain is None:
        return _with(new, body=channels.summary(rendered), media=[], options=options)
    return _with(new, body=plain.body, media=plain.media, options=options)


def _with(new: NewMessage, *, body: str, media: list[str], options: dict[str, Any]) -> NewMessage:
    """``new`` carrying the template's text and media, checked as a ``Body`` and ``MediaUrl`` are (a variable's
    value may have made them too long, or a URL of something else)."""
    if len(body.encode("utf-16-le")) // 2 > MAX_BODY:
        raise InvalidParameter(21617, "The concatenated message body exceeds the 1600 character limit "
                                      "(the template with its variables filled in).")
    bad = [url for url in media if not urls.is_callback_url(url)]
    if bad:
        raise InvalidParameter(21620, f"Media urls: {', '.join(bad)} are invalid (the template's, with its "
                                      "variables filled in). Please use only valid http and https urls")
    return replace(new, body=body, media_urls=media, mms=bool(media) or bool(options.get("send_as_mms")),
                   options=options)
