"""Bot Framework Activities, both ways: an inbound SMS as the ``message`` Activity a bot receives, and a bot's
``message`` Activity as the form of an ordinary send.

The conversation of a phone with a Loft number is ``"{phone}|{number}"``: stable, so a bot's stored conversation
references keep working (``continue_conversation``), and readable back without a lookup.

SMS has no cards: a hero or thumbnail card becomes its title, subtitle and text, its images media, and its
buttons numbered choices (``1. Yes``); suggested actions become numbered choices too. Attachments with a
``contentUrl`` become ``MediaUrl`` (MMS); others are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loft.errors import InvalidParameter
from loft.kit import dates

CHANNEL = "sms"
_CARDS = ("application/vnd.microsoft.card.hero", "application/vnd.microsoft.card.thumbnail")


def conversation_id(phone: str, number: str) -> str:
    return f"{phone}|{number}"


def parties(conversation: str) -> tuple[str, str]:
    """(phone, number) of a conversation id; 400 if it is not one of Loft's."""
    phone, separator, number = conversation.partition("|")
    if not separator or not phone or not number:
        raise InvalidParameter(20001, f"Conversation {conversation!r} is not an SMS conversation "
                                      "(\"{phone}|{number}\")")
    return phone, number


def inbound(params: Sequence[tuple[str, str]], *, service_url: str, bot_name: str) -> dict[str, Any]:
    """The ``message`` Activity of an inbound SMS, from its webhook's (Twilio's) parameters."""
    given = dict(params)
    phone, number = given.get("From", ""), given.get("To", "")
    attachments = [{"contentType": given.get(f"MediaContentType{index}") or "application/octet-stream",
                    "contentUrl": given[f"MediaUrl{index}"]}
                   for index in range(_count(given.get("NumMedia"))) if given.get(f"MediaUrl{index}")]
    moment = dates.iso8601(dates.now())
    return {
        "type": "message",
        "id": given.get("MessageSid", ""),
        "channelId": CHANNEL,
        "serviceUrl": service_url,
        "timestamp": moment,
        "localTimestamp": moment,
        "locale": "en-US",
        "textFormat": "plain",
        "from": {"id": phone, "name": phone, "role": "user"},
        "recipient": {"id": number, "name": bot_name, "role": "bot"},
        "conversation": {"id": conversation_id(phone, number), "isGroup": False},
        "text": given.get("Body", ""),
        "attachments": attachments,
        "channelData": given,
    }


def _count(text: str | None) -> int:
    try:
        return max(0, min(int(text or "0"), 10))
    except ValueError:
        return 0


def _choices(buttons: Any) -> list[str]:
    titles = [str(button.get("title") or button.get("value") or "") for button in buttons or []
              if isinstance(button, Mapping)]
    return [f"{index}. {title}" for index, title in enumerate(titles, 1) if title]


def _card(content: Any) -> tuple[list[str], list[str]]:
    """A card's lines and image URLs."""
    if not isinstance(content, Mapping):
        return [], []
    lines = [str(content[field]) for field in ("title", "subtitle", "text") if content.get(field)]
    images = [str(image["url"]) for image in content.get("images") or []
              if isinstance(image, Mapping) and image.get("url")]
    return lines + _choices(content.get("buttons")), images


def message_form(activity: Mapping[str, Any], *, number: str, phone: str) -> list[tuple[str, str]]:
    """The ``Messages`` form of a bot's ``message`` Activity: from the number to the phone."""
    lines = [str(activity["text"])] if activity.get("text") else []
    media: list[str] = []
    for attachment in activity.get("attachments") or []:
        if not isinstance(attachment, Mapping):
            continue
        if attachment.get("contentType") in _CARDS:
            card_lines, images = _card(attachment.get("content"))
            lines += card_lines
            media += images
        elif attachment.get("contentUrl"):
            media.append(str(attachment["contentUrl"]))
    suggested = activity.get("suggestedActions")
    if isinstance(suggested, Mapping):
        lines += _choices(suggested.get("actions"))
    form = [("From", number), ("To", phone), ("Body", "\n".join(lines))]
    return form + [("MediaUrl", url) for url in media]
