"""``GET /metrics``: Prometheus' text format, of this server's processes and of the shared state in the database.

Besides the instruments of :mod:`loft.metrics` (added up over the server's processes in multiprocess mode, with
``process_*`` figures of the answering process in single-process mode), each scrape reads:

- ``loft_database_up``: 1 if the database answers the readiness check (``/readyz``'s) within 2 s, else 0 — and
  then none of the figures below, which need it;
- ``loft_outbox_jobs`` (every job recorded and not yet done, scheduled sends included),
  ``loft_outbox_jobs_due`` (those whose time has come) and ``loft_outbox_oldest_due_seconds`` (how long the
  oldest of those has been due: how far delivery lags). The first is SQLite's page count of the table or
  PostgreSQL's scan of it (a few milliseconds per million jobs), the others a range of the ``available_at``
  index;
- ``loft_carrier_up{carrier}`` (counted by the processes that run carriers, :mod:`loft.metrics`): 1 while the
  carrier can take messages (the simulator always can).

Access (``LOFT_METRICS``): ``open`` answers anyone who reaches the port; a token answers only requests with
``Authorization: Bearer <token>`` (others 401, Twilio's 20003 body); ``off`` removes the route (404).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from loft import context, metrics
from loft.context import Loft
from loft.db.tables import outbox
from loft.errors import DatabaseUnavailable, TwilioApiError
from loft.kit import dates, render

#: Seconds a scrape waits for the database to answer before it says it is down (as ``/readyz``).
READY_WITHIN = 2.0


@dataclass(frozen=True, slots=True)
class Shared:
    """What the database said at one scrape (None: it did not answer)."""

    jobs: int
    due: int
    oldest_due_seconds: float


async def read_shared(loft: Loft) -> Shared | None:
    """The outbox figures, or None if the database is not up (its health is told, as for ``/readyz``)."""
    try:
        await loft.db.ping(within=READY_WITHIN)
        now = dates.now()
        async with loft.db.read() as conn:
            jobs = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
            due = (await conn.execute(select(func.count()).select_from(outbox)
                                      .where(outbox.c.available_at <= now))).scalar_one()
            oldest = (await conn.execute(select(outbox.c.available_at).where(outbox.c.available_at <= now)
                                         .order_by(outbox.c.available_at).limit(1))).scalar()
    except DatabaseUnavailable as exc:
        loft.db.health.refused(exc)
        return None
    lag = (now - dates.as_utc(oldest)).total_seconds() if oldest is not None else 0.0
    return Shared(jobs=int(jobs), due=int(due), oldest_due_seconds=max(lag, 0.0))


class _Scraped(Collector):
    """The figures read at this scrape (see the module's docstring)."""

    def __init__(self, shared: Shared | None) -> None:
        self.shared = shared

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("loft_database_up", "1 if the database answers within 2 s (as /readyz), else 0",
                                value=0 if self.shared is None else 1)
        if self.shared is None:
            return
        yield GaugeMetricFamily("loft_outbox_jobs", "Jobs in the outbox (sends, receipts, webhooks), scheduled "
                                "ones included", value=self.shared.jobs)
        yield GaugeMetricFamily("loft_outbox_jobs_due", "Jobs in the outbox whose time has come",
                                value=self.shared.due)
        yield GaugeMetricFamily("loft_outbox_oldest_due_seconds",
                                "How long the oldest due job has been due (0: none is)",
                                value=self.shared.oldest_due_seconds)


class _Live(Collector):
    """This process's own instruments (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from metrics.LIVE.collect()


_PROCESS = ProcessCollector(registry=None)


def exposition(shared: Shared | None) -> bytes:
    """The text a scrape answers."""
    registry = CollectorRegistry(auto_describe=False)
    if metrics.MULTIPROCESS:
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Live())
        registry.register(_PROCESS)
    registry.register(_Scraped(shared))
    return generate_latest(registry)


async def scrape(request: Request) -> Response:
    loft = context.of(request)
    token = loft.settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            refused = TwilioApiError(20003, "Authenticate", 401,
                                     detail="/metrics needs the bearer token set in LOFT_METRICS")
            refused.headers["WWW-Authenticate"] = 'Bearer realm="Loft metrics"'
            return render.error("json", refused)
    shared = await read_shared(loft)
    return Response(exposition(shared), media_type=CONTENT_TYPE_LATEST)
