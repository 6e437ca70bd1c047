"""How the database is doing, as this process sees it; and the log of its outages, in a few lines.

An outage refuses every request: a line (or a traceback) per request fills the log with tens of thousands of the
same. Instead, the log gets one line when the database goes down, one every :data:`REMIND_EVERY` seconds while
it stays down (with how much it refused meanwhile), and one when it answers again::

    database unavailable: [Errno 111] Connect call failed ('10.0.0.5', 5432)
    database still unavailable (412 requests refused in the last 10 s): [Errno 111] Connect call failed …
    database available again after 27 s (1093 requests refused)

Who reports what: the API's error handler each request it answered 503 (:meth:`Health.refused`), the delivery
workers each transaction of theirs that failed (:meth:`Health.failed`); the database handle the transactions
that succeed, on its success path only while an outage is on (:attr:`Health.down`: one attribute read
otherwise). The outage ends with a transaction that began after it did (one that began before may succeed
after others failed), and of the kind that failed: on SQLite a file that refuses writes (read-only, full, locked
by another program) still answers reads, and only a write that succeeds ends it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from loft import metrics
from loft.errors import DatabaseUnavailable
from loft.kit.logtext import printable

log = logging.getLogger("loft.db")

#: Seconds between two "still unavailable" lines of one outage.
REMIND_EVERY = 10.0


class Health:
    def __init__(self, *, remind_every: float = REMIND_EVERY) -> None:
        self.remind_every = remind_every
        #: An outage is on: the first failure was reported and nothing has succeeded since.
        self.down = False
        #: Outages begun so far: a transaction notes it when it begins, and tells it to :meth:`answered`.
        self.outages = 0
        self._since = 0.0
        self._reason = ""
        self._reads_failed = False  # reads failed too, so a read that succeeds ends the outage
        self._refused = 0  # requests refused since the last line
        self._failed = 0  # workers' transactions failed since the last line
        self._refused_in_all = 0
        self._failed_in_all = 0
        self._reminder: asyncio.TimerHandle | None = None

    def refused(self, exc: DatabaseUnavailable) -> None:
        """The API answered a request 503 because of ``exc``."""
        if self._report(exc):
            self._refused += 1
        self._refused_in_all += 1

    def failed(self, exc: DatabaseUnavailable) -> None:
        """A delivery worker's transaction (a claim, a send) failed because of ``exc``."""
        if self._report(exc):
            self._failed += 1
        self._failed_in_all += 1

    def answered(self, *, since: int, writing: bool) -> None:
        """A transaction that began when :attr:`outages` was ``since`` succeeded (called only while :attr:`down`):
        the outage is over, if it began after the outage did and was of the kind that failed."""
        if since != self.outages or not (writing or self._reads_failed):
            return
        log.warning("database available again after %.0f s (%s)", time.monotonic() - self._since,
                    _counts(self._refused_in_all, self._failed_in_all))
        self.down = False
        self.close()

    def close(self) -> None:
        """Stop reminding (the outage is over, or the database handle is closing)."""
        if self._reminder is not None:
            self._reminder.cancel()
            self._reminder = None

    def _report(self, exc: DatabaseUnavailable) -> bool:
        """Note a failure; False if it is the first of an outage (the line that says so was just logged)."""
        ongoing = self.down
        if not ongoing:
            self.down = True
            self.outages += 1
            metrics.database_outage()
            self._since = time.monotonic()
            self._reads_failed = False
            self._refused = self._failed = self._refused_in_all = self._failed_in_all = 0
            log.error("database unavailable: %s", printable(exc.reason))
            self._remind_later()
        self._reason = exc.reason
        if not exc.writing:
            self._reads_failed = True
        return ongoing

    def _remind_later(self) -> None:
        self._reminder = asyncio.get_running_loop().call_later(self.remind_every, self._remind)

    def _remind(self) -> None:
        """Every ``remind_every`` seconds of an outage: a line, if anything was refused meanwhile (if nothing was,
        nothing says it is still down)."""
        if self._refused or self._failed:
            log.error("database still unavailable (%s in the last %g s): %s", _counts(self._refused, self._failed),
                      self.remind_every, printable(self._reason))
            self._refused = self._failed = 0
        self._remind_later()


def _counts(refused: int, failed: int) -> str:
    """"12 requests refused", "3 delivery transactions failed", or both (the API's, the workers')."""
    counts = [f"{refused} requests refused"] if refused or not failed else []
    if failed:
        counts.append(f"{failed} delivery transactions failed")
    return ", ".join(counts)
