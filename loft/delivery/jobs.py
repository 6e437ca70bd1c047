"""Job kinds and what runs them.

A feature registers the kinds it runs with :func:`handles`, in a module named ``tasks.py`` of its own package
(``loft/delivery/tasks.py``, ``loft/webhooks/tasks.py`` …); :func:`handler` finds them all at its first use, so
adding a kind edits no central table.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import loft

if TYPE_CHECKING:
    from loft.context import Loft
    from loft.delivery.outbox import Job

Handler = Callable[["Loft", "Job"], Awaitable[None]]
_handlers: dict[str, Handler] = {}
_discovered = False


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as what runs jobs of ``kind`` (one handler per kind)."""

    def register(function: Handler) -> Handler:
        existing = _handlers.get(kind)
        if existing is not None and existing is not function:
            raise RuntimeError(f"job kind {kind!r} has two handlers: {existing.__qualname__} and {function.__qualname__}")
        _handlers[kind] = function
        return function

    return register


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for package in pkgutil.iter_modules(loft.__path__):
        if package.ispkg and importlib.util.find_spec(f"loft.{package.name}.tasks") is not None:
            importlib.import_module(f"loft.{package.name}.tasks")
    _discovered = True


def handler(kind: str) -> Handler | None:
    """What runs jobs of ``kind`` (None: no feature registered it)."""
    _discover()
    return _handlers.get(kind)


def kinds() -> list[str]:
    _discover()
    return sorted(_handlers)
