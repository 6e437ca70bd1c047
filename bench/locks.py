"""What PostgreSQL's backends of one database wait for while a scenario runs: lock waits and claim contention.

A :class:`Sampler` reads ``pg_stat_activity`` every :data:`PERIOD` seconds from a thread of its own (its own
connection and event loop, so that the load generator's loop is not disturbed) and counts, over all samples, the
backends that were running a statement (``active``) and, among them, those waiting:

- ``Lock``: a heavyweight lock, by ``wait_event`` — ``transactionid`` or ``tuple`` is a row another transaction
  holds (two workers claiming or changing the same row), ``relation`` a table lock;
- ``LWLock``: PostgreSQL's internal locks (WAL insertion, buffer mapping …): contention inside the server;
- ``IO`` and ``IPC`` (e.g. waiting for the WAL to be flushed at commit, ``SyncRep``/``WALWrite``).

``lock_share`` — heavyweight-lock samples ÷ active samples — is the figure for claim contention: 0 when nothing
serialises on a row (claims use ``FOR UPDATE SKIP LOCKED``), growing with every hot row two processes fight over.
Sampling is approximate by nature (a wait shorter than the period is mostly missed); the same period in every
layout makes the layouts comparable.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

#: Seconds between two samples.
PERIOD = 0.02
_QUERY = ("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
          "WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()")


class Sampler:
    """Samples the wait events of ``database``'s backends (through ``url``) from :meth:`start` to :meth:`stop`."""

    def __init__(self, url: str, database: str) -> None:
        self.url = url
        self.database = database
        self.samples = 0
        self.active = 0
        self.waits: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="lock-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return self.as_dict()

    async def _run(self) -> None:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.url)
        except Exception as exc:  # noqa: BLE001 - a measurement that could not run is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"
            return
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(_QUERY, self.database)
                self.samples += 1
                for row in rows:
                    if row["state"] != "active":
                        continue
                    self.active += 1
                    if row["wait_event_type"] in ("Lock", "LWLock", "IO", "IPC"):
                        self.waits[f"{row['wait_event_type']}:{row['wait_event']}"] += 1
                await asyncio.sleep(PERIOD)
        finally:
            await conn.close()

    def as_dict(self) -> dict[str, Any]:
        def share(kind: str) -> float:
            waiting = sum(count for name, count in self.waits.items() if name.startswith(kind + ":"))
            return round(waiting / self.active, 4) if self.active else 0.0

        return {"samples": self.samples, "active_backend_samples": self.active,
                "mean_active_backends": round(self.active / self.samples, 2) if self.samples else 0.0,
                "lock_share": share("Lock"), "lwlock_share": share("LWLock"), "io_share": share("IO"),
                "ipc_share": share("IPC"), "waits": dict(self.waits.most_common(8)), "error": self.error}
