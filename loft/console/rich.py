"""What the virtual phone shows of an RCS message's rich content: the ``content`` a handset received
(:mod:`loft.delivery.carriers.sim`: ``{"type": "twilio/card", ...its fields}``) reduced to the fields the phone
draws, each of the kind it expects.

A template is checked when it is made, but the phone draws whatever a handset's inbox holds, so nothing is taken
on trust here: a text that is not a string is left out, a media URL that is not http(s) is dropped (the phone shows
media as ``<img>`` only), an action without a title is dropped. Every text stays untrusted: the template escapes
it and the script sets it as text, never as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The RCS types the phone draws (the others are shown as their body).
TYPES = ("twilio/card", "twilio/carousel", "twilio/quick-reply", "twilio/call-to-action", "twilio/list-picker",
         "twilio/media", "twilio/text")
#: An action's fields: QUICK_REPLY taps (``id``), URL opens (``url``), PHONE_NUMBER shows ``phone``, COPY_CODE ``code``.
_ACTION = ("type", "title", "id", "url", "phone", "code")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def web_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def _media(value: Any) -> list[str]:
    """A card's media (a list of URLs), or a carousel card's (one URL), as a list of the http(s) ones."""
    return [url for url in ([value] if isinstance(value, str) else _list(value)) if web_url(url)]


def _actions(value: Any, kind: str = "") -> list[dict[str, str]]:
    """The actions, ``kind`` the type of those that name none (a quick-reply message's are its replies)."""
    actions = []
    for action in _list(value):
        if isinstance(action, Mapping) and _text(action.get("title")):
            shown = {name: _text(action.get(name)) for name in _ACTION}
            shown["type"] = shown["type"] or kind
            if shown["type"] == "QUICK_REPLY":
                shown["id"] = shown["id"] or shown["title"]  # a reply without an id is known by its title
            if shown["type"] == "URL" and not web_url(shown["url"]):
                shown["url"] = ""
            actions.append(shown)
    return actions


def _card(value: Mapping[str, Any], kind: str = "") -> dict[str, Any]:
    return {"title": _text(value.get("title")), "subtitle": _text(value.get("subtitle")),
            "body": _text(value.get("body")), "media": _media(value.get("media")),
            "actions": _actions(value.get("actions"), kind)}


def view(content: Any) -> dict[str, Any] | None:
    """``content`` as the phone draws it: its ``type`` (one of :data:`TYPES`) with ``title``, ``subtitle``,
    ``body``, ``media`` (a list, also for a carousel's cards, whose template gives one URL), ``actions``, ``cards``
    (each a card's fields), ``button`` and ``items`` (``id``, ``item``,
    ``description``), every one present; None when there is nothing rich to draw."""
    if not isinstance(content, Mapping) or content.get("type") not in TYPES:
        return None
    replies = "QUICK_REPLY" if content["type"] == "twilio/quick-reply" else ""
    shown = {"type": content["type"], **_card(content, replies), "button": _text(content.get("button")),
             "cards": [_card(card) for card in _list(content.get("cards")) if isinstance(card, Mapping)],
             "items": [{"id": _text(item.get("id")) or _text(item.get("item")), "item": _text(item.get("item")),
                        "description": _text(item.get("description"))}
                       for item in _list(content.get("items")) if isinstance(item, Mapping) and _text(item.get("item"))]}
    return shown
