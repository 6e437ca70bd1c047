"""Phone numbers for tests to buy: valid, random, and never handed out twice in one test run.

The servers of a run are shared by many tests (each on subaccounts of its own), and a number has one owner on a
server: two tests drawing the same number from a small space (``+1415555####`` holds 10,000) would see the second
purchase refused (21422). Numbers bought by ``AreaCode`` are drawn by Loft from the whole area code, seeded by the
account's sid, and practically never meet these.
"""

from __future__ import annotations

import secrets
import threading

import phonenumbers

#: US local numbers in an area code (Denver's) that no test buys by ``AreaCode``.
US_LOCAL = "+1720#######"

_given: set[str] = set()
_lock = threading.Lock()


def is_valid(number: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(number, None))


def unused(template: str) -> str:
    """A valid number from ``template`` with each ``#`` a random digit, not handed out before in this run."""
    while True:
        candidate = "".join(str(secrets.randbelow(10)) if ch == "#" else ch for ch in template)
        if not is_valid(candidate):
            continue
        with _lock:
            if candidate not in _given:
                _given.add(candidate)
                return candidate
