"""Which database errors say "not now" (down, unreachable, too slow, out of connections, locked, read-only, full)
rather than "wrong" (a bad statement, a broken constraint, a bug): the first come out of every transaction of
:class:`loft.db.engine.Database` as :class:`DatabaseUnavailable`, answered 503 (20503) and logged by
:mod:`loft.db.health` once per outage; the others stay what they are."""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from loft.errors import DatabaseUnavailable

#: PostgreSQL SQLSTATEs (and classes) that say "not now" rather than "wrong": connection exceptions, a read-only
#: transaction (a standby promoted late, a failover), insufficient resources (too many connections, a full disk),
#: a statement cancelled (statement_timeout, or Loft's own timeout), operator intervention (shutting down), and a
#: database that is gone.
_UNAVAILABLE_STATES = ("08", "25006", "53", "57014", "57P", "3D000")
#: SQLite's primary result codes that say the same: the file locked by another program past the busy timeout, out
#: of memory, read-only, an I/O error, a full disk, a file that cannot be opened, a locking protocol error.
_SQLITE_UNAVAILABLE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
                                 sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
                                 sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL})


def outage(exc: BaseException, *, writing: bool) -> DatabaseUnavailable | None:
    """``exc`` as a :class:`DatabaseUnavailable` when it says the database cannot be used right now (down,
    unreachable, not answering in time, out of connections, locked, read-only, full); None when it says something
    else (a wrong statement, a broken constraint, a bug: no passing condition).

    Not only SQLAlchemy's errors: asyncpg's connect and its timeouts raise the operating system's and asyncio's
    errors as they are, and the pool its own ``TimeoutError``."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    link: BaseException | None = exc
    for _ in range(3):  # SQLAlchemy's error, the driver's (or SQLAlchemy's adapter of it), what the adapter adapted
        if link is None:
            return None
        reason = _why_unavailable(link)
        if reason is not None:
            return DatabaseUnavailable(reason, writing=writing)
        link = link.orig if isinstance(link, DBAPIError) else link.__cause__
    return None


def _why_unavailable(exc: BaseException) -> str | None:
    if isinstance(exc, DBAPIError):
        return str(exc.orig) if exc.connection_invalidated else None
    if isinstance(exc, PoolTimeout):
        return "no connection of the pool free within the connect timeout"
    if isinstance(exc, TimeoutError):  # asyncio's too
        return str(exc) or "no answer within the timeout"
    if isinstance(exc, OSError):  # refused, reset, unreachable, …
        return str(exc) or type(exc).__name__
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
        return str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _SQLITE_UNAVAILABLE:
        return str(exc)
    return None


def translated(exc: Exception, *, writing: bool) -> Exception:
    """What to raise for ``exc``: a :class:`DatabaseUnavailable` caused by it (see :func:`outage`), or itself."""
    unavailable = outage(exc, writing=writing)
    if unavailable is None:
        return exc
    if unavailable is not exc:
        unavailable.__cause__ = exc
    return unavailable


def on_postgres_error(context: ExceptionContext) -> None:
    """An error of a statement SQLAlchemy runs (``BEGIN``, ``COMMIT``, any statement not run by
    :meth:`loft.db.postgres.PostgresConn._run`) that says the database is unavailable is a disconnect: the connection is closed at
    once and dropped, and the pool replaces the connections it opened before it at their next checkout (after an
    outage they are likely dead too, and each would otherwise fail a request of its own once the database is
    back). SQLAlchemy does so for the disconnects it recognizes; it does not recognize the operating system's
    errors, and after asyncpg's timeouts it closes the connection politely, waiting 2 s more for no answer."""
    conn = context.connection
    if conn is None or conn.invalidated or outage(context.original_exception, writing=False) is None:
        return
    driver = conn.connection.driver_connection
    if driver is not None:
        driver.terminate()  # no word to a server that may not answer (nor the cancel asyncpg sends after a timeout)
    context.is_disconnect = True
    context.invalidate_pool_on_disconnect = True


class QuietClosesInOutages(logging.Filter):
    """Drops the pool's report of a connection it could not close politely because the database did not answer
    (a connection returned to a full pool, or reset, in an outage): asyncpg aborts such a connection itself, so
    nothing is left open, and the outage is already logged once by :mod:`loft.db.health`. Any other failure to
    close is still logged, traceback and all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(("Exception closing connection", "Exception terminating connection")):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or outage(exc, writing=False) is None


def quiet_closes_in_outages(pool_logger: logging.Logger) -> None:
    """Install :class:`QuietClosesInOutages` on a pool's logger (once)."""
    if not any(isinstance(each, QuietClosesInOutages) for each in pool_logger.filters):
        pool_logger.addFilter(QuietClosesInOutages())
