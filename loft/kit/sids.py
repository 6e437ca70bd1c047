"""Twilio SIDs: a two-letter prefix and 32 lowercase hex digits."""

from __future__ import annotations

import os
import re

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new(prefix: str) -> str:
    """A fresh random SID, e.g. ``new("SM")`` → ``SM3f…`` (34 characters)."""
    return prefix + os.urandom(16).hex()  # what secrets.token_hex(16) does, without its layers


def is_sid(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and _SID.match(value) is not None


def looks_like_sid(value: str) -> bool:
    return _SID.match(value) is not None
