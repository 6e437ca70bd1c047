"""What every HTTP request passes on its way to the router, in one layer: :class:`Front`.

In this order:

1. **Limits** (:mod:`loft.kit.limits`): the body's size, and no NUL in the path or query, before any work. A
   refusal is answered at once (Twilio's error body) and not counted.
2. **Format**: ``.json`` / ``.xml`` / no suffix on ``/2010-04-01/…`` paths picks the wire format and is taken off
   the path before routing (:func:`in_twilio_format`), so each route is written once.
3. **Metrics** (with ``LOFT_METRICS`` not ``off``): the request counted and timed under its route's template
   (:mod:`loft.metrics.requests`), whatever answered it, an error handler included.
4. **Errors**: an exception from the router or an endpoint is answered by the handler of its class, looked up
   along its class's ancestry (``loft.app`` gives them: Twilio's error bodies for ``TwilioApiError``, for routing
   misses and for database outages). One that only ``Exception``'s handler claims is a server error: the handler
   logs it and answers 500, then the exception is raised again for the server, which logs it too (a response
   already begun cannot be mended: the handler only logs it). Nothing else turns an exception into an answer:
   Starlette's own exception layers are not in the stack (``loft.app.LoftStarlette``), and its per-route
   exception wrappers find no handlers in the scope, so they let every exception through to this layer.

Why one layer and not one per concern: every ASGI layer costs a coroutine per request and, for those that watch
the answer, a wrapped ``send`` per message; Starlette's two exception layers also make a ``Request`` and two
closures each. The create path measured 614,000 instructions per create in process (callgrind) with the five
layers, 584,000 with this one: 5 % of its CPU, for the same answers.

Every request passes it, the busiest (``POST …/Messages``, ``loft.app.CreateRoute``) included: it is the stack.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loft.kit import limits, render
from loft.metrics.requests import UNMATCHED, Recorder, templates

#: What answers an exception: Starlette's exception handler signature.
Handler = Callable[[Request, Exception], Awaitable[Response]]


def in_twilio_format(scope: Scope) -> Scope:
    """A 2010-04-01 request's scope with the format suffix taken off its path, and the format and the path as
    written kept in it (see :func:`loft.kit.render.format_of`)."""
    path: str = scope["path"]
    fmt = "xml"
    for suffix, name in ((".json", "json"), (".xml", "xml")):
        if path.endswith(suffix):
            path, fmt = path[: -len(suffix)], name
            break
    return {**scope, "path": path, "raw_path": path.encode(), render.FORMAT_KEY: fmt, render.PATH_KEY: scope["path"]}


class Front:
    """Pure ASGI: limits, format, metrics and errors for ``app`` (see the module's docstring). ``handlers``: what
    answers each class of exception; the one for ``Exception`` is the server error's. ``recorder``: where requests
    are counted (None: they are not); ``routes``: the router's, whose templates label them."""

    def __init__(self, app: ASGIApp, *, max_body: int, handlers: dict[type[Exception], Handler],
                 recorder: Recorder | None, routes: list[BaseRoute]) -> None:
        self.app = app
        self.max_body = max_body
        self.handlers = handlers
        self.server_error = handlers[Exception]
        self.recorder = recorder
        self.templates = templates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # lifespan
            return
        checked = limits.check(scope, self.max_body)
        if checked is True:  # a chunked body: counted as it is read
            counted = limits.Counted(receive, send, self.max_body)
            receive, send = counted.receive, counted.send
        elif checked is not False:
            await checked.answer(scope, receive, send)
            return
        if scope["path"].startswith("/2010-04-01/"):
            scope = in_twilio_format(scope)
        start = time.perf_counter()
        status = 0  # no answer begun

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        except Exception as exc:
            handler = self._handler(exc)
            request = Request(scope, receive)
            if status:  # an answer has begun: nothing can be said any more
                await self.server_error(request, exc)  # (it logs it)
                raise
            response = await handler(request, exc)
            await response(scope, receive, noting_status)
            if handler is self.server_error:
                raise  # for the server to log, as Starlette's outermost layer does
            exc.__traceback__ = None  # (an exception instance reused would gather tracebacks)
        finally:
            if self.recorder is not None:
                route = self.templates.get(scope.get("endpoint"), UNMATCHED)
                self.recorder.record(route, scope["method"], status or 500, time.perf_counter() - start)

    def _handler(self, exc: Exception) -> Handler:
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler
        return self.server_error
