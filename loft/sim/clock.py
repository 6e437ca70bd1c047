"""The simulator's clock: Loft's "now" moved ahead on demand (``POST /sim/v1/Clock``), so that what waits for time
(a handset's delayed delivery report, a validity period, a paced or scheduled send) can be tested without waiting.

Which time is which
-------------------
**Simulated**, :func:`loft.kit.dates.now` (the wall clock plus the offset): everything a message's life is timed by,
and every date a client sees.

- The dates of resources: ``date_created`` / ``date_updated`` / ``date_sent`` of messages, media, feedback,
  accounts, keys, numbers, applications; handsets' settings and inboxes; webhook and delivery attempts; opt-outs.
- When work falls due, the outbox's ``available_at``: a send (paced, or later a scheduled one), a handset's delayed
  delivery report, a job tried again after a failure, a hand-off a carrier deferred, a report that
  overtook its hand-off.
- A message's ``ValidityPeriod`` (30036), its sender's pacing slots and their four-hour queue (21611), the
  inbound reply-loop window (14107), usage periods (``Today``, ``ThisMonth`` …) and the balance, the metrics'
  outbox lag (all against simulated dates, so they agree with them).

**Real**, :func:`loft.kit.dates.real_now` or a monotonic clock: what guards real processes and people.

- Job leases (the outbox's ``claimed_until``, renewed every third of a lease): a dead worker's jobs are taken
  over after a real lease, and an advance does not take running jobs from a live worker.
- Console sessions (their rows, as their cookies' ``max_age``), and how long a relayed upstream's webhook
  idempotency tokens are kept (the upstream retries in real time).
- Monotonic already: failed-authentication throttling, the credential cache, database timeouts and outage
  reports, HTTP timeouts (webhooks, media, the relay) and the relay's backoff, request timeouts, the restart
  pauses of a server's children. The terminal tools run on the user's machine, by its clock.

A network carrier (SMPP, a Twilio relay) does not share the simulated clock: an advance lets its paced sends leave
at once. The clock is the simulator's.

One clock for every process
---------------------------
The offset is kept in the database (``sim_clock``, one row), so that it survives a restart and every process of a
deployment follows it; :func:`loft.kit.dates.now` reads it from memory (a create asks for "now" several times,
and must not ask the database). Each process reads the row when it starts, and then every
:data:`REFRESH_SECONDS` (one primary-key read; :func:`follow`); when it has moved, the process takes it and wakes
its workers, as jobs may have fallen due. The process that takes an advance uses it at once, and answers only
after :data:`SETTLE_SECONDS` (three refreshes: one may have begun before the commit, and a busy process may be
late), so that once a client has the answer, every process it may reach next uses the new clock (unless one of
them could not read its database, or ran nothing, for that long).

Why not the server's pipes to its children (:mod:`loft.processes`)? An advance may land in any API process (the
kernel spreads connections over ``--processes N``), and an API child has no pipe to its siblings or its
server; ``loft worker`` processes started by hand have none at all. Reading the row covers every layout alike.

The clock never goes back: an advance only adds to the offset (at most :data:`MAX_ADVANCE` at a time, and
:data:`MAX_OFFSET` in all), and a process never takes an offset smaller than the one it has. Only a fresh
database starts it again at zero.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from loft.db import upsert
from loft.db.engine import Conn
from loft.db.outages import outage
from loft.db.prepared import Prepared
from loft.db.tables import sim_clock
from loft.errors import InvalidParameter
from loft.kit import dates

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.clock")

_ROW = 1
_OFFSET = Prepared(select(sim_clock.c.offset_seconds).where(sim_clock.c.id == _ROW))
_YEAR = 365 * 24 * 3600
#: The most one advance may move the clock (ten years), and the most it may be ahead of the wall clock in all.
MAX_ADVANCE = 10 * _YEAR
MAX_OFFSET = 100 * _YEAR
#: Seconds between two reads of the offset by every process.
REFRESH_SECONDS = 0.25
#: How long an advance waits before it answers: every process has read the offset since it was committed.
SETTLE_SECONDS = 3 * REFRESH_SECONDS


async def offset(conn: Conn) -> int:
    """How far the deployment's clock is ahead of the wall clock, in seconds (0 before its first advance)."""
    found = (await conn.execute(_OFFSET)).scalar()
    return int(found or 0)


async def advance(conn: Conn, seconds: int) -> int:
    """Move the deployment's clock ``seconds`` ahead (1 … :data:`MAX_ADVANCE`); the new offset. 400 (20001) when it
    would be more than :data:`MAX_OFFSET` ahead in all; nothing is written then. Advances made at once by other
    processes add up (one ``UPDATE`` each)."""
    await upsert.insert_ignore(conn, sim_clock, id=_ROW, offset_seconds=0, date_updated=dates.real_now())
    moved = (await conn.execute(
        update(sim_clock)
        .where(sim_clock.c.id == _ROW, sim_clock.c.offset_seconds + seconds <= MAX_OFFSET)
        .values(offset_seconds=sim_clock.c.offset_seconds + seconds, date_updated=dates.real_now())
        .returning(sim_clock.c.offset_seconds)
    )).scalar()
    if moved is None:
        ahead = await offset(conn)
        raise InvalidParameter(20001, f"The 'AdvanceSeconds' parameter would put the clock {ahead + seconds} seconds "
                                      f"ahead of the wall clock: it may be {MAX_OFFSET} (a hundred years) ahead at "
                                      f"most, and is {ahead} ahead already")
    return int(moved)


def reading() -> dict[str, object]:
    """What ``/sim/v1/Clock`` answers: this process's clock, and how far it is ahead of the wall clock."""
    return {"now": dates.iso8601(dates.now()), "offset_seconds": int(dates.ahead().total_seconds())}


async def follow(loft: Loft, stop: asyncio.Event) -> None:
    """Keep this process's clock with the deployment's until ``stop``: read the offset every
    :data:`REFRESH_SECONDS`; when another process has moved it, take it and wake this process's workers."""
    failing = False
    while True:
        try:
            await asyncio.wait_for(stop.wait(), REFRESH_SECONDS)
            return
        except TimeoutError:
            pass
        try:
            async with loft.db.read_single() as conn:
                seconds = await offset(conn)
        except Exception as exc:
            # The database unavailable: what the requests and workers meet says so (loft.db.health); the next
            # read tries again. Anything else once, until a read succeeds.
            if not failing and outage(exc, writing=False) is None:
                log.error("reading the simulator's clock failed", exc_info=exc)
            failing = True
            continue
        failing = False
        if dates.move_ahead(seconds):
            loft.wake()
