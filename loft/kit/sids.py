"""Twilio SIDs: a two-letter prefix and 32 lowercase hex digits.

Loft's SIDs are ordered by time, like UUIDv7: 12 hex digits of the creation time in milliseconds, then 20 random
hex digits (80 bits). They look like Twilio's (Twilio documents only the shape, and no client reads meaning into
the digits), stay unguessable, and, more to the point, land next to each other in a database index. A random key
puts every insert on a page of its own in the ``sid`` indexes (messages, the handsets' inbox, webhook attempts),
and each group commit then writes all those pages to SQLite's log: ordered keys made inserting a message about
twice as cheap on a 300,000-row table (docs/benchmarks.md). What they disclose, the creation time, every
resource shows anyway (``date_created``).
"""

from __future__ import annotations

import re
import time

from loft.kit import tokens

_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new(prefix: str) -> str:
    """A fresh SID, e.g. ``new("SM")`` → ``SM0194f3…`` (34 characters): creation time first, then 80 random bits."""
    return f"{prefix}{time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF:012x}{tokens.hex(10)}"


def is_sid(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and _SID.match(value) is not None


def looks_like_sid(value: str) -> bool:
    return _SID.match(value) is not None
