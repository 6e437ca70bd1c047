"""Credential checks without a database read per request.

Every API request authenticates, and reading the account (or API key) for it was a fifth of the CPU of a
``POST Messages.json``. A :class:`CredentialCache` keeps what authentication read, and the token or secret given
is still compared with it in constant time on every request.

An entry is dropped as soon as anything in this process writes an account or an API key (a generation counter
that those writes bump), and in any case after :data:`TTL` seconds: a change made by *another* process sharing
the database (a token pinned by a restart, a subaccount closed through another API process) applies here within
that time (a choice of Loft's: the references say nothing of how fast Twilio applies such changes).
"""

from __future__ import annotations

import time
from typing import Any

#: Seconds a credential read is reused for (changes made through this process apply at once).
TTL = 1.0
#: Entries kept at most; beyond it the cache starts afresh (sids are never guessed into it: only hits are kept).
MAX_ENTRIES = 10_000

_generation = 0


def changed() -> None:
    """Called by every write to accounts or API keys: every cache forgets what it holds."""
    global _generation
    _generation += 1


class CredentialCache:
    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, int, Any]] = {}

    def get(self, sid: str) -> Any:
        """What :meth:`put` kept for ``sid``, or None when it is unknown, older than TTL or from before a change."""
        entry = self._entries.get(sid)
        if entry is None or entry[1] != _generation or entry[0] < time.monotonic():
            return None
        return entry[2]

    def put(self, sid: str, value: Any, *, generation: int) -> None:
        """Keep ``value``, read while the counter was ``generation`` (a change since then makes it stale)."""
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[sid] = (time.monotonic() + TTL, generation, value)


def generation() -> int:
    return _generation
