"""Workers on PostgreSQL are woken by ``LISTEN``/``NOTIFY`` when another process records work for them.

A worker claims what is due when its process records work (``Loft.wake``), when ``loft serve`` wakes its
worker children through their pipes (:mod:`loft.processes`), and otherwise at each poll
(``LOFT_WORKER_POLL_SECONDS``). ``loft worker`` processes started on their own beside API processes of other
machines heard of new sends only at their next poll: a quarter of a second of latency per hop, and batches that
wait for it. On PostgreSQL a transaction that records claimable sends asks for a notification once it commits
(:meth:`loft.db.engine.Conn.notify_after_commit`): the database sends it apart, in a small transaction of its
own, one at a time per process (PostgreSQL serialises the commits of all notifying transactions, so the writes
themselves must not notify). Every worker listens on a connection of its own: a notification wakes it as
``Loft.wake`` would. The poll stays, as the safety net: a notification is lost
while a listener reconnects, and work falls due later (retries, delayed reports).

Claims are unchanged (``FOR UPDATE SKIP LOCKED``, leases): a wake-up only says "look now"; two workers woken
together never get the same job.

**One worker per notification.** Each worker also listens on a channel of its own, which it keeps in the
``listeners`` table while it listens (renewed every :data:`RENEW_SECONDS`), and a process that records new sends
wakes one of the listening workers, in turn (:class:`Listeners`), rather than all of them: with N workers, a
notification to all made N claims for one batch of sends, all but one of them for little or nothing, and the
claims grew with the number of API processes times the number of workers. A notification to a worker that has
just died is lost like one sent while a listener reconnects: the poll finds the work. With no worker listed (an
older process, a table not read yet), the notification goes to all, as before.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert

from loft.db.engine import Conn, Database
from loft.db.prepared import Prepared
from loft.db.tables import listeners

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.worker")

CHANNEL = "loft_outbox"
#: Seconds to wait before connecting again after the listening connection failed, at most (doubling from 0.5; the
#: worker backs off as far while the database is unavailable).
RECONNECT_MAX = 5.0
#: Seconds to wait for the listening connection to open.
CONNECT_TIMEOUT = 5.0
#: Seconds between two renewals of a listening worker's row in ``listeners``; a row not renewed for
#: :data:`FORGOTTEN` is no longer woken, and one not renewed for :data:`STALE` is deleted by the other workers.
RENEW_SECONDS = 5.0
FORGOTTEN = timedelta(seconds=3 * RENEW_SECONDS)
STALE = timedelta(minutes=10)
#: Seconds a process uses the list of listening workers it read before it reads it again.
REFRESH_SECONDS = 2.0


def _ago(interval: timedelta) -> Any:
    """The database's clock, ``interval`` ago: the rows of workers on other machines are stamped and read by the
    same clock, whatever the machines' own."""
    return func.now() - literal_column(f"interval '{int(interval.total_seconds())} seconds'")


_LISTENING = Prepared(select(listeners.c.channel).where(listeners.c.seen_at >= _ago(FORGOTTEN))
                      .order_by(listeners.c.channel))


def notify(conn: Conn) -> None:
    """Wake a listening worker once the caller's transaction commits (PostgreSQL: one of them, see
    :class:`Listeners`; nothing on SQLite, whose processes share a machine and are woken through ``loft serve``'s
    pipes)."""
    conn.notify_after_commit(CHANNEL)


class Listeners:
    """The channels of the workers listening on a database, as this process last read them (every
    :data:`REFRESH_SECONDS` at most, when it notifies), and the one to wake next: each in turn, from a place of
    this process's own, so that processes notifying at once do not all wake the same worker."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._channels: list[str] = []
        self._read_at = -math.inf
        self._turn = random.randrange(1 << 30)

    async def next(self) -> str:
        """The channel to notify: a listening worker's, or :data:`CHANNEL` (all of them) when none is known."""
        if time.monotonic() - self._read_at >= REFRESH_SECONDS:
            self._read_at = time.monotonic()
            try:
                async with self._db.read_single() as conn:
                    found = (await conn.execute(_LISTENING)).all()
                self._channels = [row.channel for row in found]
            except Exception as exc:  # noqa: BLE001 - the last list (or all) serves until the next read
                log.debug("could not read the listening workers (%s): waking %s", exc,
                          "the last ones read" if self._channels else "all")
        if not self._channels:
            return CHANNEL
        self._turn += 1
        return self._channels[self._turn % len(self._channels)]


def route(db: Database) -> None:
    """Have this process's notifications on :data:`CHANNEL` wake one listening worker each (PostgreSQL)."""
    db.route_notifications(CHANNEL, Listeners(db).next)


async def _renew(db: Database, channel: str) -> None:
    """Say that the worker listening on ``channel`` is there (and forget the workers gone long ago)."""
    seen = insert(listeners).values(channel=channel, seen_at=func.now())
    await db.submit_single(lambda conn: conn.execute(
        seen.on_conflict_do_update(index_elements=[listeners.c.channel], set_={"seen_at": func.now()})))
    await db.submit_single(lambda conn: conn.execute(delete(listeners).where(listeners.c.seen_at < _ago(STALE))))


async def _forget(db: Database, channel: str) -> None:
    """Take the worker listening on ``channel`` off the list (it stops), within a second or not at all (its row
    is then forgotten after :data:`FORGOTTEN`)."""
    try:
        await asyncio.wait_for(db.submit_single(
            lambda conn: conn.execute(delete(listeners).where(listeners.c.channel == channel))), 1.0)
    except Exception as exc:  # noqa: BLE001
        log.debug("could not take %s off the listening workers (%s)", channel, exc)


def _connect_arguments(url: str) -> tuple[list[Any], dict[str, Any]]:
    """What ``asyncpg.connect`` takes for Loft's SQLAlchemy URL, as SQLAlchemy's asyncpg dialect reads it."""
    from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
    from sqlalchemy.engine import make_url

    dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
    args, kwargs = dialect.create_connect_args(make_url(url))  # type: ignore[no-untyped-call]
    return list(args), dict(kwargs)


async def listen(loft: Loft) -> None:
    """Until cancelled: listen for notifications on a connection of its own and wake this process's worker on
    each; connect again (backing off) when the connection is lost or cannot be opened."""
    import asyncpg

    args, kwargs = _connect_arguments(loft.db.url)
    own = f"{CHANNEL}_{secrets.token_hex(8)}"  # this worker's channel (see the module's docstring)
    pause = 0.5
    try:
        while True:
            lost = asyncio.Event()
            connection = None
            try:
                connection = await asyncpg.connect(*args, **kwargs, timeout=CONNECT_TIMEOUT)
                connection.add_termination_listener(lambda _: lost.set())
                for channel in (CHANNEL, own):
                    await connection.add_listener(channel, lambda *_: loft.wake())
                loft.wake()  # what was recorded while nobody listened
                pause = 0.5
                while not lost.is_set():
                    try:
                        await _renew(loft.db, own)
                    except Exception as exc:  # noqa: BLE001 - renewed at the next turn (or forgotten, and polled)
                        log.debug("could not renew %s among the listening workers (%s)", own, exc)
                    try:
                        await asyncio.wait_for(lost.wait(), RENEW_SECONDS)
                    except TimeoutError:
                        pass
                # (an outage is told by the database's health, in a few lines: see loft.db.health)
                log.debug("the connection that listens for new work was lost: polling until it is back")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll goes on meanwhile; the database's health tells about outages
                log.debug("cannot listen for new work (%s): polling, trying again in %.1f s", exc, pause)
            finally:
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(pause)
            pause = min(2 * pause, RECONNECT_MAX)
    finally:
        await _forget(loft.db, own)
