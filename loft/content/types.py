"""A content template's ``types``, checked against Twilio's schema (``twilio_content_v1.json``) before one is stored.

A template holds one or more translations of one message, keyed by type; a channel sends the richest one it
supports (docs/rich-messages.md). Loft checks the seven types messaging channels use:

==========================  ================================================================================
``twilio/text``             ``body``
``twilio/media``            ``media`` (1–10 URLs), ``body``
``twilio/quick-reply``      ``body``, ``actions`` (1–10: ``title``, ``id``, ``type`` ``QUICK_REPLY``)
``twilio/call-to-action``   ``body``, ``actions`` (1–10: ``type``, ``title``; ``url`` / ``phone`` / ``code`` by type)
``twilio/card``             ``title`` and at least one of ``subtitle``, ``media``, ``actions``
``twilio/carousel``         ``body``, ``cards`` (1–10: ``body``, ``media``, ``actions`` 1–2, ``title``)
``twilio/list-picker``      ``body``, ``button``, ``items`` (1–10: ``id``, ``item``, ``description``)
==========================  ================================================================================

As in the schema, no field outside these is taken, and every field is a string but the lists. twilio-python sends
every field of its request models, the unset ones as ``null``: a ``null`` is a field not given, and is not stored.
The other types of the schema (``twilio/location``, ``twilio/catalog``, ``whatsapp/*`` …) are WhatsApp's, which
Loft does not have: they are refused, saying so.

A bad template is a 400 with code 20001 naming the field as a path, ``types.twilio/card.actions[1].url``: the
references give no other code for the Content API's validation. Placeholders in any text, ``{{1}}`` or
``{{first_name}}``, must be well formed (:mod:`loft.content.render`); each field may hold up to
:data:`MAX_TEXT` characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from loft.content import render
from loft.errors import InvalidParameter, NotImplementedByLoft

#: The longest text a field may hold (an SMS body's limit, 1600, is the smallest any channel has).
MAX_TEXT: Final = 1600
#: WhatsApp's and RCS's types Loft does not check or send.
UNSUPPORTED: Final = ("twilio/location", "twilio/catalog", "twilio/flows", "twilio/schedule", "whatsapp/card",
                      "whatsapp/authentication", "whatsapp/flows")


@dataclass(frozen=True, slots=True)
class Text:
    """A string field; ``choices``: one of them (an enum, not a text: no placeholders there)."""

    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Texts:
    """A list of strings (media URLs)."""

    required: bool = False
    most: int = 10


@dataclass(frozen=True, slots=True)
class Objects:
    """A list of objects of one shape (actions, cards, items)."""

    shape: Shape
    required: bool = False
    most: int = 10


@dataclass(frozen=True, slots=True)
class Shape:
    """An object's fields; ``rule``: what the schema's descriptions add (a card's title and one more field …)."""

    fields: Mapping[str, Text | Texts | Objects]
    rule: Callable[[Mapping[str, Any], str], None] = field(default=lambda value, where: None)


_ACTION_NEEDS: Final = {"URL": "url", "PHONE_NUMBER": "phone", "COPY_CODE": "code"}


def _action_needs_its_target(action: Mapping[str, Any], where: str) -> None:
    """A URL button has its ``url``, a phone button its ``phone``, a copy-code button its ``code``."""
    needed = _ACTION_NEEDS.get(action.get("type", ""))
    if needed is not None and needed not in action:
        raise InvalidParameter(20001, f"{where}.{needed} is required for an action of type {action['type']}")


def _card_has_title_and_more(card: Mapping[str, Any], where: str) -> None:
    if "title" not in card:
        raise InvalidParameter(20001, f"{where}.title is required")
    if not {"subtitle", "media", "actions"} & set(card):
        raise InvalidParameter(20001, f"{where} needs a subtitle, media or actions besides its title")


def _action(types: tuple[str, ...], **extra: Text) -> Shape:
    """A button: its ``type`` (one of ``types``), ``title``, and the target its type needs."""
    fields: dict[str, Text | Texts | Objects] = {"type": Text(required=True, choices=types),
                                                  "title": Text(required=True)}
    fields.update({name: Text() for name in ("url", "phone", "code", "id")})
    return Shape({**fields, **extra}, rule=_action_needs_its_target)


_CAROUSEL_CARD = Shape({"title": Text(), "body": Text(required=True), "media": Text(required=True),
                        "actions": Objects(_action(("URL", "PHONE_NUMBER", "QUICK_REPLY")), required=True, most=2)})

SCHEMAS: Final[dict[str, Shape]] = {
    "twilio/text": Shape({"body": Text(required=True)}),
    "twilio/media": Shape({"body": Text(), "media": Texts(required=True)}),
    "twilio/quick-reply": Shape({"body": Text(required=True),
                                 "actions": Objects(Shape({"type": Text(choices=("QUICK_REPLY",)),
                                                           "title": Text(required=True), "id": Text()}),
                                                    required=True)}),
    "twilio/call-to-action": Shape({
        "body": Text(required=True),
        "actions": Objects(_action(("URL", "PHONE_NUMBER", "COPY_CODE", "VOICE_CALL", "VOICE_CALL_REQUEST")),
                           required=True)}),
    "twilio/card": Shape({"title": Text(), "subtitle": Text(), "media": Texts(),
                          "actions": Objects(_action(("URL", "PHONE_NUMBER", "QUICK_REPLY", "COPY_CODE", "VOICE_CALL"),
                                                     webview_size=Text(choices=("TALL", "FULL", "HALF", "NONE"))))},
                         rule=_card_has_title_and_more),
    "twilio/carousel": Shape({"body": Text(required=True), "cards": Objects(_CAROUSEL_CARD, required=True)}),
    "twilio/list-picker": Shape({"body": Text(required=True), "button": Text(required=True),
                                 "items": Objects(Shape({"id": Text(required=True), "item": Text(required=True),
                                                         "description": Text()}), required=True)}),
}


def check(types: Any) -> dict[str, Any]:
    """``types`` as a create or update gave them, checked; what is stored (``null`` fields left out)."""
    if not isinstance(types, Mapping):
        raise InvalidParameter(20001, "types must be an object of content types (e.g. {\"twilio/text\": {...}})")
    checked: dict[str, Any] = {}
    for name, value in types.items():
        if value is None:
            continue
        if name in UNSUPPORTED:
            raise NotImplementedByLoft("types", f"the content type {name} (WhatsApp's) is not available in Loft")
        shape = SCHEMAS.get(name)
        if shape is None:
            raise InvalidParameter(20001, f"types.{name} is not a content type: use one of {', '.join(SCHEMAS)}")
        checked[name] = _object(value, shape, f"types.{name}")
    if not checked:
        raise InvalidParameter(20001, "types must hold at least one content type")
    return checked


def _object(value: Any, shape: Shape, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParameter(20001, f"{where} must be an object")
    given = {name: item for name, item in value.items() if item is not None}
    unknown = sorted(set(given) - set(shape.fields))
    if unknown:
        raise InvalidParameter(20001, f"{where}.{unknown[0]} is not a field of {where.rsplit('.', 1)[-1]}")
    checked: dict[str, Any] = {}
    for name, kind in shape.fields.items():
        here = f"{where}.{name}"
        if name not in given:
            if kind.required:
                raise InvalidParameter(20001, f"{here} is required")
            continue
        item = given[name]
        if isinstance(kind, Text):
            checked[name] = _text(item, here, kind.choices)
        elif isinstance(kind, Texts):
            checked[name] = [_text(each, f"{here}[{index}]") for index, each in enumerate(_list(item, here, kind.most))]
        else:
            checked[name] = [_object(each, kind.shape, f"{here}[{index}]")
                             for index, each in enumerate(_list(item, here, kind.most))]
    shape.rule(checked, where)
    return checked


def _list(value: Any, where: str, most: int) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidParameter(20001, f"{where} must be a list")
    if not value:
        raise InvalidParameter(20001, f"{where} must not be empty")
    if len(value) > most:
        raise InvalidParameter(20001, f"{where} holds {len(value)} entries, at most {most} are allowed")
    return value


def _text(value: Any, where: str, choices: tuple[str, ...] = ()) -> str:
    if not isinstance(value, str):
        raise InvalidParameter(20001, f"{where} must be a string")
    if choices:
        if value not in choices:
            raise InvalidParameter(20001, f"{where} must be one of {', '.join(choices)}, not '{value}'")
        return value
    if not value.strip():
        raise InvalidParameter(20001, f"{where} must not be empty")
    if len(value) > MAX_TEXT:
        raise InvalidParameter(20001, f"{where} is {len(value)} characters long, at most {MAX_TEXT} are allowed")
    render.check_placeholders(value, where)
    return value
