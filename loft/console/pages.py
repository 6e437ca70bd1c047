"""``/console``: sign in and out, the dashboard, and every page's route.

Each page calls the services (``loft/*/service.py``) directly with the request's database connections, as
the API endpoints do; the feature pages live beside this module (``numbers``, ``apps``, ``services``, ``log``,
``scheduled``, ``phone``, ``team``, ``usage``). A path under ``/console`` that none of them has is answered by :func:`web.missing` (see
``loft.app.http_error``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from loft.console import apps, log, numbers, phone, scheduled, services, sessions, team, usage, web
from loft.console.web import Visit
from loft.errors import InvalidParameter, PermissionDenied, TooManyRequests, Unauthenticated
from loft.kit import forms


async def signin_form(request: Request) -> Response:
    session = sessions.read(request)
    if session is not None and await sessions.account_of(request, session) is not None:
        return RedirectResponse("/console", status_code=303, headers=web.SECURITY_HEADERS)
    if session is None or session.signed_in:
        session = sessions.anonymous()
    return web.render(request, "signin.html", session, account=None, error=None, username="")


async def signin(request: Request) -> Response:
    session = sessions.read(request)
    try:
        form = await forms.read(request)
    except InvalidParameter as error:
        return web.refused(request, error.message, 400, wants_json=False)
    if session is None or not sessions.csrf_ok(session, form.get(sessions.CSRF_FIELD)):
        return web.refused(request, "This form has expired or did not come from the console (CSRF check failed). "
                           "Reload the page and try again.", 403, wants_json=False)
    username = (form.get("username") or "").strip()
    try:
        _, signed_in = await sessions.sign_in(request, username, form.get("password") or "")
        await sessions.end(request, session)  # a session already signed in here is replaced, not left standing
    except Unauthenticated:
        return web.render(request, "signin.html", session, account=None, status=401, username=username,
                          error="Those credentials were refused: check the Account SID and auth token "
                                "(or the API key SID and secret).")
    except TooManyRequests as refused:
        return web.render(request, "signin.html", session, account=None, status=429, username=username,
                          error=f"Too many failed sign-ins from your address: try again in "
                                f"{refused.headers['Retry-After']} seconds.")
    response = RedirectResponse("/console", status_code=303, headers=web.SECURITY_HEADERS)
    sessions.write(request, response, signed_in)
    return response


async def signout(visit: Visit) -> Response:
    """End the session for good (its row goes: a copy of the cookie opens nothing), and drop the cookie."""
    await sessions.end(visit.request, visit.session)
    response = RedirectResponse("/console/signin", status_code=303, headers=web.SECURITY_HEADERS)
    sessions.clear(response)
    return response


async def dashboard(visit: Visit) -> Response:
    return visit.render("dashboard.html", revealed=False)


async def reveal(visit: Visit) -> Response:
    """Show the auth token (a POST, so that it never sits in a URL or a cached GET); not to an API key's session,
    nor a subaccount's token to its parent acting as it (the console showed that one once, when it was created)."""
    web.needs_auth_token(visit)
    if visit.acting:
        raise PermissionDenied(f"The console showed this subaccount's auth token once, when it was created; the parent "
                               f"account's credentials still read it from the API "
                               f"(GET /2010-04-01/Accounts/{visit.account.sid}.json)")
    return visit.render("dashboard.html", revealed=True)


async def home(request: Request) -> Response:
    """``/``: a person who opens the server's address in a browser lands on the console (the API has no root)."""
    return RedirectResponse("/console", status_code=302, headers=web.SECURITY_HEADERS)


routes: list[BaseRoute] = [
    Route("/", home, methods=["GET"]),
    Route("/console", web.page(dashboard), methods=["GET"]),
    Route("/console/reveal", web.action(reveal), methods=["POST"]),
    Route("/console/signin", signin_form, methods=["GET"]),
    Route("/console/signin", signin, methods=["POST"]),
    Route("/console/signout", web.action(signout), methods=["POST"]),
    *numbers.routes,
    *apps.routes,
    *services.routes,
    *scheduled.routes,  # before the log's "/console/messages/{sid}"
    *log.routes,
    *phone.routes,
    *team.routes,
    *usage.routes,
    Mount("/console/static", app=StaticFiles(directory=web.HERE / "static"), name="console-static"),
]
