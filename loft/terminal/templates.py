"""Liquid message templates, as marketing tools such as Braze write them.

Standard Liquid (python-liquid) plus Braze's own filters:

- ``url_param_escape``: percent-encode everything a query parameter value cannot hold, ``&``, ``=``, ``/``
  and spaces included (``"a b&c" -> "a%20b%26c"``);
- ``url_escape``: percent-encode what cannot appear in a URL at all, keeping ``/ : ? & =`` and the like;
- ``json_escape``: escape for use inside a JSON string;
- ``md5``, ``sha1``, ``sha2`` (SHA-256), ``hmac_sha1: key``, ``hmac_sha256: key`` (hex digests),
  ``hmac_sha256_base64: key``;
- ``number_with_delimiter``: ``1234567.5 -> 1,234,567.5``;
- ``property_accessor: key``: look a key up in a hash;
- ``time_zone: 'America/New_York'``: a date (or ``'now'``) in that zone, for ``date``.

Braze's attribute syntax is accepted too: ``{{${first_name}}}`` and ``{{custom_attribute.${plan}}}`` mean
``{{ first_name }}`` and ``{{ plan }}``.

In strict mode (the default) a variable that is not defined is an error, unless it goes through ``default``
(``{{ first_name | default: 'there' }}``); in lenient mode it renders as nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from liquid import BoundTemplate, Environment, StrictDefaultUndefined, Undefined
from liquid.exceptions import FilterArgumentError, LiquidError
from liquid.filter import liquid_filter, string_filter
from liquid.undefined import is_undefined

from loft.terminal.client import TerminalError

#: Characters ``url_escape`` leaves alone: unreserved ones (never escaped) and URL delimiters (RFC 3986).
_URL_SAFE = "!#$&'()*+,/:;=?@[]~"
_BRAZE_ATTRIBUTE = re.compile(r"(?:custom_attribute\.)?\$\{\s*([A-Za-z_][\w-]*)\s*\}")
_MARKUP = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


class TemplateProblem(TerminalError):
    """A template that cannot be parsed, or a row it cannot be rendered with."""


@string_filter
def url_param_escape(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@string_filter
def url_escape(value: str) -> str:
    return urllib.parse.quote(value, safe=_URL_SAFE)


@string_filter
def json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


@string_filter
def md5(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()


@string_filter
def sha1(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()


@string_filter
def sha2(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _hmac(value: str, key: object, digest: str) -> bytes:
    if is_undefined(key) or key is None:
        raise FilterArgumentError("expected a key", token=None)
    return hmac.new(str(key).encode(), value.encode(), digest).digest()


@string_filter
def hmac_sha1(value: str, key: object) -> str:
    return _hmac(value, key, "sha1").hex()


@string_filter
def hmac_sha256(value: str, key: object) -> str:
    return _hmac(value, key, "sha256").hex()


@string_filter
def hmac_sha256_base64(value: str, key: object) -> str:
    return base64.b64encode(_hmac(value, key, "sha256")).decode()


@liquid_filter
def number_with_delimiter(value: object, delimiter: object = ",") -> str:
    if is_undefined(value) or value is None:
        return ""
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text  # not a number: unchanged, as Braze leaves it
    sign = "-" if number < 0 else ""
    whole, _, fraction = text.lstrip("+-").partition(".")
    grouped = f"{int(whole or '0'):,}".replace(",", str(delimiter))
    return f"{sign}{grouped}" + (f".{fraction}" if fraction else "")


@liquid_filter
def property_accessor(value: object, key: object) -> object:
    if isinstance(value, Mapping):
        return value.get(str(key))
    raise FilterArgumentError(f"property_accessor expects a hash, found {type(value).__name__}", token=None)


@liquid_filter
def time_zone(value: object, zone: object) -> object:
    if is_undefined(value) or value is None:
        return value
    try:
        tz = ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FilterArgumentError(f"unknown time zone {zone!r}", token=None) from exc
    moment: dt.datetime
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value.strip().lower() in ("now", "today"):
        moment = dt.datetime.now(dt.timezone.utc)
    elif isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        moment = dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise FilterArgumentError(f"time_zone cannot read the date {value!r}", token=None) from exc
    else:
        raise FilterArgumentError(f"time_zone expects a date, found {type(value).__name__}", token=None)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(tz)


FILTERS: dict[str, Any] = {
    "hmac_sha1": hmac_sha1,
    "hmac_sha256": hmac_sha256,
    "hmac_sha256_base64": hmac_sha256_base64,
    "json_escape": json_escape,
    "md5": md5,
    "number_with_delimiter": number_with_delimiter,
    "property_accessor": property_accessor,
    "sha1": sha1,
    "sha2": sha2,
    "time_zone": time_zone,
    "url_escape": url_escape,
    "url_param_escape": url_param_escape,
}


def environment(*, strict: bool = True) -> Environment:
    env = Environment(undefined=StrictDefaultUndefined if strict else Undefined)
    env.filters.update(FILTERS)
    return env


def braze_to_liquid(source: str) -> str:
    """``{{${first_name}}}`` -> ``{{first_name}}``: Braze's attribute syntax, inside Liquid markup only."""
    return _MARKUP.sub(lambda markup: _BRAZE_ATTRIBUTE.sub(r"\1", markup.group(0)), source)


def _short(exc: LiquidError) -> str:
    return str(exc.message if exc.message is not None else type(exc).__name__)


class Template:
    """A parsed message template: ``Template("Hi {{ first_name }}").render({"first_name": "Ada"})``."""

    def __init__(self, source: str, *, strict: bool = True, name: str = "template") -> None:
        self.source = source
        self.name = name
        try:
            self._template: BoundTemplate = environment(strict=strict).from_string(braze_to_liquid(source))
        except LiquidError as exc:
            raise TemplateProblem(f"The {name} is not valid Liquid: {_short(exc)}") from exc

    def render(self, variables: Mapping[str, object]) -> str:
        try:
            return self._template.render(**variables)
        except LiquidError as exc:
            raise TemplateProblem(f"{self.name}: {_short(exc)}") from exc
