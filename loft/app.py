"""The ASGI application: routes, the layer in front of them and lifespan in one place.

Every request passes, in this order:

1. :class:`loft.front.Front`: limits (body size, NUL characters), the 2010-04-01 format suffix, request metrics
   (with ``LOFT_METRICS`` not ``off``), and errors answered as Twilio's error bodies by the handlers below
   (an unexpected one as a 500, logged, never a traceback in the answer). One layer for all four, because each
   layer costs every request (see its module).
2. With ``LOFT_TRUSTED_PROXIES`` set: uvicorn's proxy-headers middleware (see ``loft.proxies``).
3. The router.

:func:`middleware` declares that list and :class:`LoftStarlette` builds the stack from it alone: Starlette's own
exception layers are not added around it, ``Front`` does their work. ``POST …/Messages`` is a route of the router
like any other (:class:`CreateRoute`, tried first), so a layer added to the list cannot miss it. What the create
path saves is inside the router: one regular expression instead of Starlette's route matching, and its endpoint
called without Starlette's per-route request/response adapter.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from loft import console, context, openapi, outbound, processes, proxies, startup
from loft.accounts import endpoints as accounts
from loft.accounts import service as account_service
from loft.accounts.throttle import Throttle
from loft.applications import endpoints as applications
from loft.bots import endpoints as bots
from loft.carriers import endpoints as carriers
from loft.config import Settings
from loft.content import endpoints as content
from loft.context import Loft
from loft.db.engine import open_database
from loft.db.outages import outage
from loft.delivery import wakeups
from loft.delivery.carriers import plan
from loft.delivery.carriers.hub import Carriers
from loft.delivery.worker import Worker
from loft.errors import DatabaseUnavailable, MethodNotAllowed, NotFound, TwilioApiError
from loft.front import Front, Handler
from loft.kit import dates, render
from loft.kit.logtext import printable
from loft.messages import endpoints as messages
from loft.messaging_services import endpoints as messaging_services
from loft.metrics import endpoint as metrics_endpoint
from loft.metrics import requests as request_metrics
from loft.metrics.requests import Recorder
from loft.numbers import endpoints as numbers
from loft.senders import endpoints as senders
from loft.sim import clock
from loft.sim import endpoints as sim
from loft.usage import endpoints as usage

log = logging.getLogger("loft")

#: Seconds ``/readyz`` waits for the database to answer before it says it is not ready.
READY_WITHIN = 2.0


# Errors, as Twilio's error bodies (the one place that turns exceptions into HTTP answers) -----------------


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TwilioApiError)
    return render.error(render.format_of(request), exc.at(render.requested_path(request)))

async def http_error(request: Request, exc: Exception) -> Response:
    """A routing miss (no such path, or no such method on it): Twilio's error body, except under ``/console``,
    where a person gets the console's HTML error page."""
    assert isinstance(exc, HTTPException)
    error: TwilioApiError
    if exc.status_code == 405:
        error = MethodNotAllowed(request.method)
    elif exc.status_code == 404:
        error = NotFound(render.requested_path(request))
    else:
        error = TwilioApiError(20001, str(exc.detail), exc.status_code)
    if request.url.path == "/console" or request.url.path.startswith("/console/"):
        return await console.missing(request, error)
    return render.error(render.format_of(request), error)

async def database_error(request: Request, exc: Exception) -> Response:
    """The database cannot be used right now (down, unreachable, too slow, out of connections, locked): 503 with
    Twilio's 20503, nothing committed. A passing condition: the database's health logs the outage in a few
    lines (see loft.db.health), not a line or a traceback per request. Any other database error is a 500."""
    unavailable = outage(exc, writing=request.method != "GET")
    if unavailable is None:
        return await server_error(request, exc)
    context.of(request).db.health.refused(unavailable)
    return render.error(render.format_of(request), unavailable)

async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, printable(render.requested_path(request)),
                  exc_info=exc)
    error = TwilioApiError(20500, "An internal server error has occurred", 500)
    return render.error(render.format_of(request), error)


#: What answers each class of exception (:class:`loft.front.Front` looks along the exception's class's ancestry);
#: ``Exception``'s is the server error's.
HANDLERS: dict[type[Exception], Handler] = {
    TwilioApiError: api_error, HTTPException: http_error, DBAPIError: database_error,
    DatabaseUnavailable: database_error, Exception: server_error,
}


class CreateRoute(Route):
    """``POST …/Accounts/{AccountSid}/Messages``, the busiest request by far: a route of the router, behind every
    middleware of :func:`middleware`, tried first, and cheaper than a :class:`~starlette.routing.Route` at the
    two steps that are its own.

    - Matching: one regular expression on a ``POST``'s path (the format suffix is already off it), no parameter
      convertors, no copy of the scope's path parameters. Any other method falls through to the routes after it
      (``GET`` lists; others are answered 405 by the list route).
    - Answering: the endpoint gets a ``Request`` and its response is sent, without Starlette's
      request/response adapter: its errors reach :class:`loft.front.Front`, as every route's do, and get the
      same answers.

    Its template (``path``) is the list route's, under which request metrics count it.
    """

    _PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages$")

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(path, endpoint, methods=["POST"])
        self.answer = endpoint

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] == "POST":
            matched = self._PATH.match(scope["path"])
            if matched is not None:
                return Match.FULL, {"endpoint": self.endpoint, "path_params": {"account_sid": matched[1]}}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answer(Request(scope, receive))
        await response(scope, receive, send)


#: The create route (its template is the list route's: ``/2010-04-01/Accounts/{account_sid}/Messages``).
CREATE = CreateRoute("/2010-04-01/Accounts/{account_sid}/Messages", messages.create_message)


class LiteralStartRoute(Route):
    """A :class:`~starlette.routing.Route` that first compares the literal start of its template (the text before
    its first parameter) with the path: a path that does not begin with it cannot match. The router tries its
    routes in order, each with a regular expression (about 1.6 µs each on the bench machine, with the route path
    recomputed for each), and Loft has 158: a request to a route far down the list (Messaging Services, Content,
    the console) spent more on finding it than on the rest of a small answer, and a path no route matches was
    tried against every route twice (``redirect_slashes``). With a ``root_path`` (never set by ``loft serve``)
    the route's own match decides, as before.

    :func:`literal_start` makes one from any plain ``Route``, keeping all of it (endpoint, methods, name, any
    middleware)."""

    @functools.cached_property
    def literal(self) -> str:
        return self.path.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not scope["path"].startswith(self.literal) and not scope.get("root_path"):
            return Match.NONE, {}
        return super().matches(scope)


def literal_start(route: BaseRoute) -> BaseRoute:
    """``route`` as a :class:`LiteralStartRoute` if it is a plain ``Route`` (its state copied as it is: nothing
    of it is made again); any other route as it is."""
    if type(route) is not Route:
        return route
    faster = LiteralStartRoute.__new__(LiteralStartRoute)
    faster.__dict__.update(route.__dict__)
    return faster


def middleware(settings: Settings, recorder: Recorder | None, routes: list[BaseRoute]) -> list[Middleware]:
    """The layers every request passes on its way to the router, outermost first (see the module's docstring);
    ``routes``: the router's, whose templates request metrics use. One list, from which :class:`LoftStarlette`
    builds the whole stack: the create route is in the router, so nothing added here can pass it by."""
    return [
        Middleware(Front, max_body=settings.max_body_bytes, handlers=HANDLERS, recorder=recorder, routes=routes),
        *([Middleware(proxies.behind, trusted=settings.trusted_proxies)] if settings.trusted_proxies else []),
    ]


class LoftStarlette(Starlette):
    """Starlette, its stack built from the declared middleware alone (:func:`middleware`): Starlette's
    ``build_middleware_stack`` would put its ``ServerErrorMiddleware`` outside the list and its
    ``ExceptionMiddleware`` inside, each a layer every request pays for (a ``Request`` and closures of their own),
    doing what :class:`loft.front.Front` does. A private use of Starlette (see :mod:`loft.adapters`):
    ``build_middleware_stack`` is called by ``Starlette.__call__`` on the first request, and
    ``user_middleware`` holds the declared list (``tests/test_adapters.py`` checks both)."""

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app


async def bootstrap(settings: Settings, *, migrate: bool = True, pin: bool = True
                    ) -> tuple[Loft, account_service.MainAccount]:
    """Open the store, bring its schema up to date (unless the caller knows it is), check that the secret key
    opens its secrets, take the simulator's clock (:mod:`loft.sim.clock`) and make sure the main account exists;
    ``pin``: with the pinned credentials, which must match an existing main account (see :mod:`loft.startup`; a
    server's children were checked by the server).

    The caller owns the returned ``Loft`` and closes it (``await loft.close()``).
    """
    db = open_database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous,
                       connect_timeout=settings.database_connect_timeout,
                       statement_timeout=settings.database_statement_timeout,
                       pool_size=settings.database_pool_size)
    try:
        if migrate:
            await db.migrate()
        async with db.write() as conn:
            box = await startup.secret_box(conn, settings)
            dates.move_ahead(await clock.offset(conn))
            main = await account_service.ensure_main(
                conn,
                box,
                sid=settings.account_sid if pin else None,
                auth_token=settings.auth_token.get_secret_value() if settings.auth_token and pin else None,
            )
    except BaseException:
        await db.dispose()
        raise
    if not db.is_sqlite:
        wakeups.route(db)  # a process's new sends wake one listening worker, not all
    http = outbound.client(outbound.Guard.of(settings.outbound_deny))
    return Loft(settings=settings, db=db, box=box, http=http, carriers=Carriers(plan.load(settings.carriers_file), settings.carriers_here),
                throttle=Throttle(settings.auth_failures_per_minute)), main


def create_app(settings: Settings | None = None, *, supervised: bool = False, ready_fd: int | None = None
               ) -> ASGIApp:
    """The application; ``supervised``: it runs in a child API process of ``loft serve --processes N``, which
    migrated the database before starting it, and stops it by closing its standard input; ``ready_fd``: a pipe to
    that server, to say on it that this process is up (its socket listens already)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Loft]]:
        loft, _ = await bootstrap(settings, migrate=not supervised, pin=not supervised)
        app.state.loft = loft
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        children: list[processes.Children] = []
        if supervised:
            await processes.listen_to_server(on_wake=loft.wake, on_close=processes.stop_this_process)
        if settings.delivery_processes:
            children.append(processes.Children("loft worker", [processes.worker_command(settings, index)
                                                               for index in range(settings.delivery_processes)],
                                               wake=loft.work_ready))
        elif settings.workers:
            loft.worker = Worker(loft)
            worker = asyncio.create_task(loft.worker.run(stop))
        if settings.api_processes > 1 and not supervised:
            children.append(processes.Children("loft serve", [processes.serve_command(settings)]
                                               * (settings.api_processes - 1),
                                               env=processes.serve_environment(settings), ready=True))
        for group in children:
            await group.start()  # API children: once they are up, so that this process answers after them
        app.state.children = children
        if ready_fd is not None:
            processes.tell_server_ready(ready_fd)
        following = asyncio.create_task(clock.follow(loft, stop))
        try:
            yield {context.STATE_KEY: loft}  # (the server copies it into each request's scope: context.of)
        finally:
            stop.set()
            if worker is not None:
                await worker
            await following
            await asyncio.gather(*(group.stop() for group in children))
            await loft.close()
            if not supervised:
                processes.drop_shared_metrics()

    async def health(request: Request) -> Response:
        """Liveness: the process answers (whatever its database does: restarting it would not help that)."""
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        """Readiness: the database answers too, within :data:`READY_WITHIN` seconds (see Database.ping)."""
        db = context.of(request).db
        try:
            await db.ping(within=READY_WITHIN)
        except DatabaseUnavailable as exc:
            db.health.refused(exc)
            return JSONResponse({"status": "unavailable", "database": "unavailable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})

    own = [Route("/openapi.json", openapi.document),
           *([Route("/metrics", metrics_endpoint.scrape)] if settings.metrics_on else [])]
    routes: list[BaseRoute] = [
        # Starlette tries routes in order: the busiest first (creates, then the rest of Messages). No two
        # resources' paths overlap.
        CREATE,
        *messages.routes,
        Route("/healthz", health),
        Route("/readyz", ready),
        *accounts.routes,
        *numbers.routes,
        *applications.routes,
        *bots.routes,
        *messaging_services.routes,
        *content.routes,
        *senders.routes,
        *sim.routes,
        *usage.routes,
        *carriers.routes,
        *console.routes,
        *own,
    ]
    routes = [literal_start(route) for route in routes]
    recorder = request_metrics.recorder() if settings.metrics_on else None
    return LoftStarlette(routes=routes, middleware=middleware(settings, recorder, routes), lifespan=lifespan)
