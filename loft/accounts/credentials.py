"""Credential checks without a database read per request.

Every API request authenticates, and reading the account (or API key) for it was a fifth of the CPU of a
``POST Messages.json``. A :class:`CredentialCache` keeps what authentication read, and the token or secret given
is still compared with it in constant time on every request.

An entry is dropped as soon as anything in this process writes an account or an API key (a generation counter
that those writes bump), and in any case after :data:`TTL` seconds: a change made by *another* process sharing
the database (a token pinned by a restart, a subaccount closed through another API process) applies here within
that time (a choice of Loft's: the references say nothing of how fast Twilio applies such changes).

Callers that miss the same SID at once share one read (:meth:`CredentialCache.fetch`): when an entry expires
under load every request and job of the moment misses it together, and on PostgreSQL each read would take a
connection of its own, past the pool's size.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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
    __slots__ = ("_entries", "_reading")

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, int, Any]] = {}
        #: The reads of misses under way, by SID.
        self._reading: dict[str, asyncio.Future[Any]] = {}

    async def fetch(self, sid: str, read: Callable[[], Awaitable[Any]]) -> Any:
        """What is kept for ``sid``, else what ``read()`` finds (kept unless None, or a change came meanwhile);
        callers that miss ``sid`` while a read of it is under way wait for that read. A reader cancelled leaves
        its waiters to read for themselves; a read that fails, fails for its waiters too."""
        value = self.get(sid)
        if value is not None:
            return value
        pending = self._reading.get(sid)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled
                # the reader was: read here instead
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[sid] = future
        try:
            seen = _generation
            value = await read()
            if value is not None:
                self.put(sid, value, generation=seen)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # (nobody may be waiting for it)
            else:
                future.cancel()
            raise
        else:
            future.set_result(value)
        finally:
            if self._reading.get(sid) is future:
                del self._reading[sid]
        return value

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
