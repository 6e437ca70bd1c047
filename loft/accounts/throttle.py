"""Failed authentications slow down whoever makes them, not whoever holds the right credentials.

- **Per client address**: once an address has failed to authenticate about ``LOFT_AUTH_FAILURES_PER_MINUTE``
  times in a short while, its requests that carry credentials are answered 429 (code 20429, with
  ``Retry-After``) without being checked, until its count has decayed below the limit again. The count decays
  exponentially (a minute's time constant): a burst of thousands keeps the address out for minutes, a
  client that fails now and then never notices.
- **Per SID** (account or API key, from any address): past the same limit, each further *wrong* attempt for
  that SID is answered only after :data:`SID_DELAY`; the right credentials are still answered at once, so an
  attack spread over many addresses slows down without locking the owner out.
- **Every failed authentication takes at least** :data:`FLOOR`: whether a SID exists (and whether it was read
  from the database or the credential cache) cannot be told from the time of the answer.

Counts are kept per process (with ``--processes N`` an address gets N times the allowance) and forgotten on
restart; at most :data:`MAX_TRACKED` addresses and SIDs are tracked, the least failing forgotten first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

#: Seconds a failed authentication takes at least (an unknown SID is read from the database, a known one is
#: often in the credential cache: a ~0.3 ms difference otherwise).
FLOOR = 0.05
#: Seconds each wrong attempt for a SID over the limit waits before its 401.
SID_DELAY = 1.0
#: The time constant of the decay of a count, in seconds.
DECAY = 60.0
MAX_TRACKED = 10_000


@dataclass(slots=True)
class _Count:
    score: float
    at: float

    def now(self, moment: float) -> float:
        return self.score * math.exp(-(moment - self.at) / DECAY)


@dataclass(slots=True)
class Throttle:
    """The failure counts of one process. ``limit``: failures (about per minute) before an address is refused and a
    SID's wrong attempts are delayed; 0 turns both off (the floor stays)."""

    limit: int
    _addresses: dict[str, _Count] = field(default_factory=dict)
    _sids: dict[str, _Count] = field(default_factory=dict)

    def refused_for(self, address: str | None) -> int:
        """Seconds (rounded up) before ``address`` may try again; 0 if it may now."""
        count = self._addresses.get(address or "")
        if not self.limit or count is None:
            return 0
        score, threshold = count.now(time.monotonic()), self.limit - 0.5  # (a score decays between failures)
        return 0 if score <= threshold else math.ceil(DECAY * math.log(score / threshold))

    def failed(self, address: str | None, sid: str) -> float:
        """Count a failure of ``address`` for ``sid``; how long its answer must be held back beyond the floor."""
        moment = time.monotonic()
        over = False
        for table, key in ((self._addresses, address or ""), (self._sids, sid[:64])):
            count = table.get(key)
            score = (count.now(moment) if count else 0.0) + 1
            if count is None:
                _make_room(table, moment)
            table[key] = _Count(score, moment)
            over = over or table is self._sids and bool(self.limit) and score > self.limit + 0.5
        return SID_DELAY if over else 0.0


def _make_room(table: dict[str, _Count], moment: float) -> None:
    """Keep ``table`` under MAX_TRACKED: forget the half that fails least (an address spraying SIDs, or many
    addresses, cannot grow it without bound)."""
    if len(table) < MAX_TRACKED:
        return
    ranked = sorted(table, key=lambda key: table[key].now(moment))
    for key in ranked[: len(ranked) // 2]:
        del table[key]
