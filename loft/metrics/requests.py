"""HTTP requests, counted by route template, method and status class, and timed.

Labels are the route's template (``/2010-04-01/Accounts/{account_sid}/Messages/{sid}``), never the path as sent:
a SID in a label would make a series per message. A request no route matched is ``unmatched``; a method other
than the usual ones is ``other``. The status is its class (``2xx`` … ``5xx``).

The cost per request is a dictionary look-up for the pair of instruments of its (route, method, status) — made
once, then cached — a counter increment and a histogram observation: about 1 µs in memory, 2.5 µs in
multiprocess mode (``python -m bench.metrics_cost``), against ~130 µs of CPU per create. Every request, the busiest
(``POST …/Messages``, :class:`loft.app.CreateRoute`) included, is recorded by :class:`loft.front.Front`, the layer
every request passes, once the router's choice is visible in the request's scope and the answer, an error
handler's included, has begun.

Requests refused before the application runs (431, 408, 429 by the connection limits of :mod:`loft.serving`; 413
and NUL characters by :mod:`loft.kit.limits`) are not counted here.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute, Mount, Route

from loft import metrics

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Recorder:
    """The request instruments of one application, with their labelled children cached."""

    __slots__ = ("_children",)

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        children = self._children.get((route, method, status))
        if children is None:
            children = self._children[route, method, status] = self._make(route, method, status)
        children[0].inc()
        children[1].observe(seconds)

    def _make(self, route: str, method: str, status: int) -> tuple[Counter, Histogram]:
        method = method if method in _METHODS else "other"
        return (metrics.REQUESTS.labels(route, method, f"{status // 100}xx"),
                metrics.LATENCY.labels(route, method))


def templates(routes: list[BaseRoute]) -> dict[Any, str]:
    """The route template of each endpoint (what the router leaves in the scope as ``endpoint``)."""
    found: dict[Any, str] = {}
    for route in routes:
        if isinstance(route, Route):
            found[route.endpoint] = route.path
        elif isinstance(route, Mount):
            found[route.app] = route.path + "/{path}"
    return found
