"""A content template with its variables filled in: what a channel sends (and a handset shows).

Placeholders are ``{{1}}`` or ``{{first_name}}``: a name of letters, digits and underscores between double braces
(spaces inside the braces are allowed, ``{{ 1 }}``). A template's ``variables`` are its defaults; a send's
``ContentVariables`` (a JSON object of strings) override them, name by name::

    render(template, {"1": "Ada"})
    # {"twilio/text": {"body": "Hello Ada, your order ships today"}, "twilio/quick-reply": {...}}

Every text of every type is filled in (bodies, titles, button titles and ids, URLs, media), never the names of
things (an action's ``type``). The rules, Twilio's error 21656 (``ContentVariables`` invalid) when one is broken:

- ``ContentVariables`` is a JSON object whose values are strings (numbers are taken as their text), none empty
  or ``null`` (:func:`variables`);
- every placeholder of the template has a value, given or default (a text cannot go out with ``{{1}}`` in it).

Values given for names the template does not use are ignored, as Twilio does. A template's own texts are checked
when it is created (:func:`check_placeholders`): a ``{{`` that opens no well-formed placeholder is refused there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final, Protocol

from loft.errors import InvalidParameter

PLACEHOLDER: Final = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
#: A variable's name (a ``variables`` key, or a ``ContentVariables`` one).
NAME: Final = re.compile(r"^[A-Za-z0-9_]+$")
#: Fields holding the name of a thing, not a text: never filled in.
_NAMES: Final = frozenset({"type", "webview_size"})
INVALID_VARIABLES: Final = 21656


class Template(Protocol):
    """What rendering needs of a template (:class:`loft.content.service.Content` is one)."""

    @property
    def variables(self) -> Mapping[str, str]: ...

    @property
    def types(self) -> Mapping[str, Any]: ...


def placeholders(text: str) -> list[str]:
    """The names of ``text``'s placeholders, in order (repeated as often as they appear)."""
    return PLACEHOLDER.findall(text)


def check_placeholders(text: str, where: str) -> None:
    """Refuse (20001, naming ``where``) a text with a ``{{`` or ``}}`` that is not part of a placeholder."""
    rest = PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise InvalidParameter(20001, f"{where} has a malformed placeholder: use {{{{1}}}} or {{{{name}}}} "
                                      "(letters, digits and underscores)")


def used(types: Mapping[str, Any]) -> set[str]:
    """Every variable name the template's ``types`` use."""
    found: set[str] = set()

    def visit(value: Any, key: str = "") -> None:
        if isinstance(value, str) and key not in _NAMES:
            found.update(placeholders(value))
        elif isinstance(value, Mapping):
            for name, item in value.items():
                visit(item, name)
        elif isinstance(value, list):
            for item in value:
                visit(item, key)

    visit(types)
    return found


def variables(text: str | None) -> dict[str, str]:
    """A send's ``ContentVariables`` (a JSON object), checked: 21656 when it is not one, or a value is empty."""
    if text is None or not text.strip():
        return {}
    try:
        given = json.loads(text)
    except ValueError:
        raise InvalidParameter(INVALID_VARIABLES, "ContentVariables must be a JSON object, e.g. {\"1\": \"Ada\"}") \
            from None
    if not isinstance(given, dict):
        raise InvalidParameter(INVALID_VARIABLES, "ContentVariables must be a JSON object, e.g. {\"1\": \"Ada\"}")
    return values(given, code=INVALID_VARIABLES, where="ContentVariables")


def values(given: Mapping[str, Any], *, code: int, where: str) -> dict[str, str]:
    """Variables (a template's defaults, or a send's values) as strings: each name well formed, each value a
    non-empty string or a number; ``code`` is the error's."""
    checked: dict[str, str] = {}
    for name, value in given.items():
        if not NAME.match(name):
            raise InvalidParameter(code, f"{where}: '{name}' is not a variable name (letters, digits, underscores)")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidParameter(code, f"{where}: the value of '{name}' must be a string")
        text = str(value)
        if not text.strip():
            raise InvalidParameter(code, f"{where}: the value of '{name}' must not be empty")
        checked[name] = text
    return checked


def render(template: Template, given: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``template``'s types with every placeholder filled from ``given``, then from the template's defaults;
    21656 naming the first placeholder left without a value."""
    known = {**template.variables, **(given or {})}
    missing = sorted(used(template.types) - set(known), key=_order)
    if missing:
        raise InvalidParameter(INVALID_VARIABLES, f"ContentVariables: no value for the template's variable "
                                                  f"'{missing[0]}' (and no default)")

    def fill(value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return value if key in _NAMES else PLACEHOLDER.sub(lambda match: known[match.group(1)], value)
        if isinstance(value, Mapping):
            return {name: fill(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [fill(item, key) for item in value]
        return value

    filled: dict[str, Any] = fill(template.types)
    return filled


def _order(name: str) -> tuple[int, int | str]:
    """Numbered variables first, by number, then named ones."""
    return (0, int(name)) if name.isdigit() else (1, name)
