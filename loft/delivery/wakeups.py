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
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from loft.db.engine import Conn

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.worker")

CHANNEL = "loft_outbox"
#: Seconds to wait before connecting again after the listening connection failed, at most (doubling from 0.5; the
#: worker backs off as far while the database is unavailable).
RECONNECT_MAX = 5.0
#: Seconds to wait for the listening connection to open.
CONNECT_TIMEOUT = 5.0


def notify(conn: Conn) -> None:
    """Wake every listening worker once the caller's transaction commits (PostgreSQL; nothing on SQLite, whose
    processes share a machine and are woken through ``loft serve``'s pipes)."""
    conn.notify_after_commit(CHANNEL)


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
    pause = 0.5
    while True:
        lost = asyncio.Event()
        connection = None
        try:
            connection = await asyncpg.connect(*args, **kwargs, timeout=CONNECT_TIMEOUT)
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, lambda *_: loft.wake())
            loft.wake()  # what was recorded while nobody listened
            pause = 0.5
            await lost.wait()
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
