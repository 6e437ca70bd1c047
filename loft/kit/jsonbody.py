"""JSON request bodies, as Twilio's newer APIs take them (Content v1, the messaging v2 Senders): one JSON object.

twilio-python sends these with ``Content-Type: application/json`` and every field of its request model, the ones
the caller left out as ``null``: a ``null`` means "not given". The body's size is bounded at the
edge (:mod:`loft.kit.limits`); a NUL character is refused anywhere in it, as in a form (PostgreSQL stores no NUL
in text), and so is a lone surrogate (``\\ud800``, no character at all: no database stores it) and a body nested
too deeply for Python's parser. Anything but a JSON object is a 400 (20001) saying so, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from loft.errors import InvalidParameter


async def read(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object (an empty body is an empty object)."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        raise InvalidParameter(20001, "The client closed the connection before the end of the request body") \
            from None
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except RecursionError:
        raise InvalidParameter(20001, "The request body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameter(20001, f"The request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidParameter(20001, "The request body must be a JSON object")
    if b"\\u0000" in raw or b"\x00" in raw:
        raise InvalidParameter(20001, "The request body contains a NUL character")
    if b"\\u" in raw:  # an escaped lone surrogate (\ud800) is no character: no database could store its text
        try:
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidParameter(20001, "The request body holds an invalid \\u escape (a lone surrogate)") \
                from None
    return document

