"""HTTP requests, counted by route template, method and status class, and timed.

Labels are the route's template (``/2010-04-01/Accounts/{account_sid}/Messages/{sid}``), never the path as sent:
a SID in a label would make a series per message. A request no route matched is ``unmatched``; a method other
than the usual ones is ``other``. The status is its class (``2xx`` … ``5xx``).

In one process (no ``--processes`` nor ``--worker-processes``), requests are tallied in plain lists and made into
Prometheus' families when scraped (:class:`Tallies`): a dictionary look-up, a binary search and two additions per
request, 0.36 µs (``python -m bench.metrics_cost``) where prometheus-client's counter and histogram took 1.1 µs
and 1.7 % of a create's instructions (callgrind: 11,700 of 669,800). In multiprocess mode their values must live
in the files that any process's scrape adds up, so they go through those instruments (:class:`Instruments`): a
cached pair of labelled children, a lock per value changed, 3.8 µs. Every request, the busiest (``POST
…/Messages``, :class:`loft.app.CreateRoute`) included, is recorded by :class:`loft.front.Front`, the layer every
request passes, once the router's choice is visible in the request's scope and the answer, an error handler's
included, has begun.

Requests refused before the application runs (431, 408, 429 by the connection limits of :mod:`loft.serving`; 413
and NUL characters by :mod:`loft.kit.limits`) are not counted here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.routing import BaseRoute, Mount, Route

from loft import metrics

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Request latency buckets, in seconds: a create takes about a millisecond, a page of a list a few.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_REQUESTS = ("loft_http_requests", "HTTP requests answered, by route template, method and status class")
#: The buckets' ``le`` labels, as prometheus-client writes them (``0.0005`` … ``30.0``, ``+Inf``).
_LE = tuple(floatToGoString(bound) for bound in (*LATENCY_BUCKETS, float("inf")))  # type: ignore[no-untyped-call]
_LATENCY = ("loft_http_request_duration_seconds",
            "Time from a request's arrival at the application to the end of its answer, by route template")


class Recorder(Protocol):
    """Where :class:`loft.front.Front` records each request: :data:`TALLIES` in single-process mode,
    :class:`Instruments` in multiprocess mode (:func:`recorder`)."""

    def record(self, route: str, method: str, status: int, seconds: float) -> None: ...


def _method(method: str) -> str:
    return method if method in _METHODS else "other"


class Tallies(Collector):
    """This process's requests, counted in plain lists and made into Prometheus' families when scraped
    (single-process mode). Per (route, method, status) as recorded, a :func:`_tally`. A request costs a dictionary
    look-up, a binary search of the bounds and two additions: a third of the time of a counter and a histogram of
    prometheus-client (a lock and a call per value changed, a loop over the bounds), on the path of every
    create. Only the event loop's thread records; a scrape reads on that thread too."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, str, int], list[Any]] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        tally = self._by.get((route, method, status))
        if tally is None:
            tally = self._by[route, method, status] = _tally()
        tally[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # (a bound is the bucket's ``le``: inclusive)
        tally[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        counts: dict[tuple[str, str, str], int] = {}
        latencies: dict[tuple[str, str], list[Any]] = {}
        for (route, method, status), tally in list(self._by.items()):
            method = _method(method)
            key = (route, method, f"{status // 100}xx")
            counts[key] = counts.get(key, 0) + sum(tally[:-1])
            merged = latencies.setdefault((route, method), _tally())
            for index, value in enumerate(tally):
                merged[index] += value
        requests = CounterMetricFamily(*_REQUESTS, labels=["route", "method", "status"])
        for labelled, count in counts.items():
            requests.add_metric(labelled, count)
        yield requests
        latency = HistogramMetricFamily(*_LATENCY, labels=["route", "method"])
        for timed, merged in latencies.items():
            cumulative, buckets = 0, []
            for le, count in zip(_LE, merged[:-1]):
                cumulative += count
                buckets.append((le, cumulative))
            latency.add_metric(timed, buckets, merged[-1])
        yield latency


def _tally() -> list[Any]:
    """An empty tally: the requests in each bucket (the last: over the largest bound), then their latencies' sum."""
    return [0] * (len(LATENCY_BUCKETS) + 1) + [0.0]


#: This process's requests in single-process mode (every application of the process records into it, as into one
#: prometheus-client instrument).
TALLIES = Tallies()


class Instruments:
    """The request instruments of prometheus-client, with their labelled children cached (multiprocess mode:
    their values live in the files that a scrape, in whichever process, adds up)."""

    __slots__ = ("_children", "_requests", "_latency")

    def __init__(self, requests: Counter, latency: Histogram) -> None:
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._requests = requests
        self._latency = latency

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        children = self._children.get((route, method, status))
        if children is None:
            children = self._children[route, method, status] = self._make(route, method, status)
        children[0].inc()
        children[1].observe(seconds)

    def _make(self, route: str, method: str, status: int) -> tuple[Counter, Histogram]:
        method = _method(method)
        return self._requests.labels(route, method, f"{status // 100}xx"), self._latency.labels(route, method)


if metrics.MULTIPROCESS:
    _INSTRUMENTS: Recorder = Instruments(
        Counter(*_REQUESTS, ["route", "method", "status"], registry=metrics.LIVE),
        Histogram(*_LATENCY, ["route", "method"], buckets=LATENCY_BUCKETS, registry=metrics.LIVE))
else:
    metrics.LIVE.register(TALLIES)


def recorder() -> Recorder:
    """Where this process records its requests: its tallies, or the shared files' instruments."""
    return _INSTRUMENTS if metrics.MULTIPROCESS else TALLIES


def templates(routes: list[BaseRoute]) -> dict[Any, str]:
    """The route template of each endpoint (what the router leaves in the scope as ``endpoint``)."""
    found: dict[Any, str] = {}
    for route in routes:
        if isinstance(route, Route):
            found[route.endpoint] = route.path
        elif isinstance(route, Mount):
            found[route.app] = route.path + "/{path}"
    return found
