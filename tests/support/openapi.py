"""Check every response against Twilio's own OpenAPI descriptions (tests/twilio-oai/, vendored):
``twilio_api_v2010.json`` for ``/2010-04-01/…``, ``twilio_content_v1.json`` for ``/v1/Content…`` (and
``ContentAndApprovals``, ``LegacyContent``), ``twilio_messaging_v1.json`` for the rest of ``/v1/…`` and
``twilio_messaging_v2.json`` for ``/v2/…``.

Known spec quirks are handled as reference/twilio-oai-quirks.md says: 2010-04-01's ``*_uri`` fields are relative
(the ``uri`` format is not asserted there), ``nullable`` is OAS 3.0's (the OAS 3.0 validator understands it), and
error bodies are checked against Twilio's real shape ``{code, message, more_info, status}``. The v1 domains'
``url`` fields and paging links are absolute (``format: uri`` is asserted) and their dates ISO 8601
(``format: date-time``, to the second, in UTC); a v1 list is ``{<meta.key>: [...], "meta": {...}}`` with exactly
the spec's ``meta`` keys.
"""

from __future__ import annotations

import email.utils
import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator, OAS31Validator

from loft.openapi import DOCUMENT

_SPECS = Path(__file__).resolve().parents[1] / "twilio-oai"
SPEC_PATH = _SPECS / "twilio_api_v2010.json"
#: Path prefix → the spec that describes it, the first that matches (``/v1/Content…`` before the rest of ``/v1/``).
DOMAINS = {"/2010-04-01/": "twilio_api_v2010", "/v1/Content": "twilio_content_v1",
           "/v1/LegacyContent": "twilio_content_v1", "/v1/": "twilio_messaging_v1", "/v2/": "twilio_messaging_v2"}
RFC2822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$")

_formats = FormatChecker(formats=())


def _rfc2822(value: object) -> bool:
    return not isinstance(value, str) or (RFC2822.match(value) is not None and email.utils.parsedate(value) is not None)


_formats.checks("date-time-rfc-2822")(_rfc2822)

ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_v1_formats = FormatChecker(formats=())


@_v1_formats.checks("date-time")
def _iso8601(value: object) -> bool:
    return not isinstance(value, str) or ISO8601.match(value) is not None


@_v1_formats.checks("uri")
def _absolute(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def domain_of(path: str) -> str | None:
    """The spec that describes ``path`` (by its prefix), if any."""
    return next((name for prefix, name in DOMAINS.items() if path.startswith(prefix)), None)


@cache
def spec(name: str = "twilio_api_v2010") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((_SPECS / f"{name}.json").read_text())
    return loaded


@cache
def _routes(name: str) -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in spec(name)["paths"]:
        pattern = re.sub(r"\\\{[A-Za-z]+\\\}", r"[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}$"), template))
    return routes


def template_for(path: str) -> str | None:
    """The spec's path for ``path``; the most specific one where several match (``…/IncomingPhoneNumbers/Local.json``
    is its own path, not ``…/IncomingPhoneNumbers/{Sid}.json``; ``/v1/Services/Usecases`` not ``/v1/Services/{Sid}``)."""
    name = domain_of(path)
    if name is None:
        return None
    found = [template for pattern, template in _routes(name) if pattern.match(path)]
    return min(found, key=lambda template: template.count("{"), default=None)


ERROR_KEYS = {"code", "message", "more_info", "status"}


def check(method: str, path: str, status: int, body: str) -> None:
    """Raise AssertionError when the response does not match what Twilio's spec (or Twilio) says."""
    path = path.split("?", 1)[0]
    if status == 204:
        assert body == "", f"{method} {path}: a 204 must have an empty body, got {body[:200]!r}"
        return
    data = json.loads(body)
    if status >= 400:
        assert ERROR_KEYS <= set(data), f"{method} {path}: error body lacks Twilio's keys: {data}"
        assert data["status"] == status, f"{method} {path}: body status {data['status']} != HTTP {status}"
        assert isinstance(data["code"], int) and data["more_info"].endswith(str(data["code"]))
        assert not ({"type", "title"} <= set(data)), "a legacy error must not look like RFC 9457"
        return
    name = domain_of(path)
    template = template_for(path)
    assert name is not None and template is not None, f"{method} {path}: no such path in Twilio's spec"
    document = spec(name)
    operation = document["paths"][template][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path}: Twilio answers {sorted(responses)}, Loft answered {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    validator = OAS30Validator(
        {**schema, "components": document["components"]},
        format_checker=_formats if name == "twilio_api_v2010" else _v1_formats,
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )
    properties = schema.get("properties") or _resolve(schema, name)["properties"]
    extra = set(data) - set(properties)
    assert not extra, f"{method} {path}: keys Twilio does not send: {sorted(extra)}"
    if "end" in properties or "meta" in properties:  # a list: every record's keys too
        key = next(k for k in properties if properties[k].get("type") == "array")
        if "meta" in properties:
            assert set(data) == {key, "meta"}, f"{method} {path}: a v1 list is {{{key}, meta}}, not {sorted(data)}"
            assert data["meta"]["key"] == key, f"{method} {path}: meta.key {data['meta']['key']} is not {key}"
            assert set(data["meta"]) == set(properties["meta"]["properties"]), f"{method} {path}: meta {data['meta']}"
        item_props = _resolve(properties[key]["items"], name)["properties"]
        for record in data[key]:
            assert not set(record) - set(item_props), f"{method} {path}: extra keys {set(record) - set(item_props)}"


def _resolve(schema: dict[str, Any], name: str = "twilio_api_v2010") -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    resolved: dict[str, Any] = spec(name)["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


def own_schema(schema: Any) -> Any:
    """A schema of Loft's own document (loft/openapi.py) with its ``$ref``s put in place."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return own_schema(DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
        return {key: own_schema(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [own_schema(item) for item in schema]
    return schema


def check_own(template: str, method: str, status: int, body: Any) -> None:
    """Raise AssertionError unless Loft's own document lists ``status`` for the operation and its schema takes
    ``body`` (parsed JSON)."""
    responses = DOCUMENT["paths"][template][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {template}: documented {sorted(responses)}, answered {status}"
    OAS31Validator(own_schema(responses[str(status)]["content"]["application/json"]["schema"]),
                   format_checker=FormatChecker()).validate(body)
