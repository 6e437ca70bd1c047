"""Request parameters as Twilio reads them: form-encoded bodies and query strings, repeatable keys.

The body is parsed as ``application/x-www-form-urlencoded`` whatever the Content-Type says: tools such as
Braze send Twilio's form body labelled as plain text (see the seeds), and Twilio accepts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import MultiDict
from starlette.requests import Request

from loft.errors import InvalidParameter

MAX_BODY = 1 << 20


class Form(MultiDict):
    """A request's parameters: Starlette's ``MultiDict`` (the last value of a repeated key, or all of them with
    ``getlist``), whose ``get`` is a dict lookup. ``Mapping.get`` looks a key up by raising and catching
    ``KeyError``, and a create asks for some twenty parameters that are absent."""

    def get(self, key: Any, default: Any = None) -> Any:
        return self._dict.get(key, default)


async def read(request: Request) -> Form:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidParameter(20001, "The request body is larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidParameter(20001, "The request body is not valid UTF-8") from exc
    return Form(parse_qsl(text, keep_blank_values=True))


def boolean(form: Mapping[str, str], name: str) -> bool | None:
    """Twilio's booleans are ``true``/``false`` (any case); anything else is refused."""
    value = form.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidParameter(20001, f"The '{name}' parameter must be true or false, not '{value}'")


def integer(form: MultiDict, name: str, *, low: int, high: int, code: int = 20001) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise InvalidParameter(code, f"The '{name}' parameter must be an integer, not '{value}'") from None
    if not low <= number <= high:
        raise InvalidParameter(code, f"The '{name}' parameter must be between {low} and {high}, not {number}")
    return number


def choice(form: MultiDict, name: str, allowed: tuple[str, ...], *, default: str | None = None) -> str | None:
    value = form.get(name)
    if value is None:
        return default
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise InvalidParameter(20001, f"The '{name}' parameter must be one of {', '.join(allowed)}, not '{value}'")


def method(form: MultiDict, name: str, *, default: str = "POST") -> str:
    value = choice(form, name, ("GET", "POST"), default=default)
    assert value is not None
    return value
