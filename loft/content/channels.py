"""Which translation of a rendered template each channel sends: Twilio's channel rules.

A template holds several types, translations of one message; a channel sends the richest it supports
(reference/services-rcs-carriers-bots.md, "Channel rules"):

- **RCS** shows, the richest first, a carousel, a card, a call-to-action, a quick-reply, media or text
  (:func:`rcs`); a list-picker is WhatsApp's only. A carousel over RCS drops its body, as Twilio's does.
- **SMS and MMS** send the ``twilio/media`` translation (an MMS: its body and media) or else the ``twilio/text``
  one (:func:`sms`). A template with neither cannot fall back to SMS: Twilio's 19023.

``rendered`` is :func:`loft.content.render.render`'s answer: ``{type: fields}`` with the variables filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: The types an RCS handset shows, the richest first.
RCS_TYPES: Final = ("twilio/carousel", "twilio/card", "twilio/call-to-action", "twilio/quick-reply",
                    "twilio/media", "twilio/text")
#: Twilio's code for content that must fall back to SMS/MMS and has no ``twilio/text`` or ``twilio/media``.
NO_FALLBACK: Final = 19023


@dataclass(frozen=True, slots=True)
class Plain:
    """What an SMS or MMS carries of a template: a body, and media for an MMS."""

    body: str
    media: list[str] = field(default_factory=list)


def rcs(rendered: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an RCS handset shows of ``rendered``: its richest type RCS supports, ``{"type": ..., **fields}``
    (buttons with their ids); None if it has none."""
    for kind in RCS_TYPES:
        fields = rendered.get(kind)
        if isinstance(fields, Mapping):
            shown = {"type": kind, **fields}
            if kind == "twilio/carousel":
                shown.pop("body", None)
            return shown
    return None


def sms(rendered: Mapping[str, Any]) -> Plain | None:
    """What an SMS or MMS sends of ``rendered``: the ``twilio/media`` translation, else the ``twilio/text`` one;
    None when it has neither (:data:`NO_FALLBACK`)."""
    media = rendered.get("twilio/media")
    if isinstance(media, Mapping):
        return Plain(str(media.get("body") or ""), [str(url) for url in media.get("media") or []])
    text = rendered.get("twilio/text")
    if isinstance(text, Mapping):
        return Plain(str(text.get("body") or ""))
    return None


def summary(rendered: Mapping[str, Any]) -> str:
    """A text for a message that has no SMS translation (its ``body`` as the API shows it): the RCS content's body,
    else its title, else nothing."""
    shown = rcs(rendered) or {}
    for key in ("body", "title"):
        if isinstance(shown.get(key), str):
            return str(shown[key])
    cards = shown.get("cards")
    if isinstance(cards, list) and cards and isinstance(cards[0], Mapping):
        return str(cards[0].get("body") or cards[0].get("title") or "")
    return ""
