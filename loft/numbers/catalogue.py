"""Numbers for sale: real-format, valid numbers drawn deterministically from libphonenumber's metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import phonenumbers

#: How many candidates a search looks at before it concludes nothing is to be had.
SEARCH_LIMIT = 2000


def in_area_code(area_code: str, *, seed: str = "") -> Iterator[str]:
    """Valid North American numbers ``+1 <area_code> NXX XXXX``, in a fixed pseudo-random order per seed."""
    for attempt in range(SEARCH_LIMIT):
        digest = hashlib.sha256(f"{seed}:{area_code}:{attempt}".encode()).digest()
        value = int.from_bytes(digest[:8], "big")
        exchange = 200 + value % 800  # NXX: the first digit is 2-9
        line = (value // 800) % 10000
        candidate = f"+1{area_code}{exchange:03d}{line:04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            yield candidate
