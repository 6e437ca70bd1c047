"""Callback URLs as Twilio accepts them: absolute http(s), a host without underscores, at most 4000 characters."""

from __future__ import annotations

from urllib.parse import urlsplit

from loft.errors import InvalidParameter

MAX_LENGTH = 4000


def is_callback_url(text: str) -> bool:
    if len(text) > MAX_LENGTH:
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and bool(host) and "_" not in host and " " not in text


def optional(text: str, parameter: str, *, code: int = 20001) -> str | None:
    """An empty value clears the setting; anything else must be a callback URL."""
    text = text.strip()
    if not text:
        return None
    if not is_callback_url(text):
        raise InvalidParameter(code, f"The {parameter} URL '{text}' is not a valid http or https URL")
    return text
