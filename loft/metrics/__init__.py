"""What Loft counts for Prometheus: the instruments that the code paths update as things happen.

Two kinds of figures, read two ways (the scrape itself is :mod:`loft.metrics.endpoint`):

- **Events**, counted by the process they happen in (prometheus-client counters and histograms, a few
  attribute writes each; in one process, HTTP requests are plain tallies): HTTP requests and their latency
  (:mod:`loft.metrics.requests`), messages reaching each status, webhook attempts and failures, database
  outages noticed. When ``loft serve`` runs more than one process (``--processes``, ``--worker-processes``) they
  all count into files of one directory (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``,
  made by the server: :func:`loft.processes.share_metrics`) and a scrape, whichever process answers it, adds
  them up. ``loft worker`` processes started by hand (on another
  machine) count for nobody: their work shows in the shared state below.
- **Shared state**, read from the database at scrape time with queries that stay cheap however large the tables
  grow: whether the database answers, the outbox's depth and the age of its oldest due job. Any process gives the
  same answer, so the figures do not depend on which process a scrape reaches.

Messages by status are counted as transitions (``loft_messages_total{status}``: messages that were created in, or
moved to, each status) rather than as a gauge of the ``messages`` table: counting the table by status reads every
row (a quarter of a second per million messages on SQLite, during which the process answers nothing), and a
status index would slow every status change. The count is taken when the statement that makes the change runs:
a transaction rolled back afterwards (an outage) may have been counted. What is in flight right now is the
outbox (``loft_outbox_jobs``).

Importing this module decides the mode: ``PROMETHEUS_MULTIPROC_DIR`` must be set before (prometheus-client reads
it when it is first imported).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

#: The processes of this server count into files (see the module's docstring).
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ

# ``*_created`` series (when each counter began) double the output for nothing a rate needs; multiprocess mode has
# none either, so both modes answer the same families.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: The per-process instruments, for a scrape in single-process mode (in multiprocess mode, their files are read).
LIVE = CollectorRegistry(auto_describe=True)

MESSAGES = Counter("loft_messages", "Messages created in, or moved to, each status", ["status"], registry=LIVE)
WEBHOOK_ATTEMPTS = Counter("loft_webhook_attempts",
                           "HTTP attempts at webhooks (status_callback, inbound, fallback, redirect)", ["kind"],
                           registry=LIVE)
WEBHOOK_FAILURES = Counter("loft_webhook_failures",
                           "Webhook attempts that failed, by kind and Twilio error code (11200, 11205, …)",
                           ["kind", "error_code"], registry=LIVE)
DATABASE_OUTAGES = Counter("loft_database_outages",
                           "Database outages noticed (each process notices an outage it meets: summed over them)",
                           registry=LIVE)

#: Set by the processes that run network carriers (``max`` over live processes: up if any process's bind is up).
CARRIER_UP = Gauge("loft_carrier_up", "1 while a network carrier can take messages (its connection is up)",
                   ["carrier"], registry=LIVE, multiprocess_mode="livemax")
CARRIER_HANDOFFS = Counter("loft_carrier_handoffs", "Messages handed to a network carrier, by outcome "
                           "(accepted, deferred, rejected)", ["carrier", "outcome"], registry=LIVE)
CARRIER_REPORTS = Counter("loft_carrier_reports", "Delivery reports from a network carrier, by outcome",
                          ["carrier", "outcome"], registry=LIVE)

_statuses: dict[str, Counter] = {}


def carrier_up(name: str, up: bool) -> None:
    CARRIER_UP.labels(name).set(1 if up else 0)


def reached(status: str, count: int = 1) -> None:
    """``count`` messages were created in, or moved to, ``status``."""
    child = _statuses.get(status)
    if child is None:
        child = _statuses[status] = MESSAGES.labels(status)
    child.inc(count)


def webhook_attempt(kind: str, error_code: int | None) -> None:
    """One HTTP attempt at a webhook of ``kind`` was made; ``error_code``: how it failed (None: it succeeded)."""
    WEBHOOK_ATTEMPTS.labels(kind).inc()
    if error_code is not None:
        WEBHOOK_FAILURES.labels(kind, str(error_code)).inc()


def database_outage() -> None:
    """This process noticed that the database became unavailable (loft.db.health)."""
    DATABASE_OUTAGES.inc()
