"""The console's plumbing: templates, the signed-in visit, and the two kinds of handlers.

- :func:`page` wraps a GET handler: it needs a signed-in session (else it redirects to the sign-in page) and
  shows a ``TwilioApiError`` as a message on an error page, never as a 500.
- :func:`action` wraps a POST handler: it also checks the form's CSRF token, then redirects wherever the
  handler says, carrying a notice or the service's error message across the redirect (a "flash").
- Both act for :attr:`Visit.account`: the signed-in account, or the subaccount its session switched to
  (:func:`sessions.acting_as`); :attr:`Visit.principal` is who signed in.
- :func:`missing` answers a routing miss under ``/console`` with the same error page, in HTML.

Templates are autoescaped Jinja2: message bodies, friendly names and webhook responses are untrusted, and a
strict Content-Security-Policy (scripts only from ``/console/static``) backs that up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from loft import context
from loft.accounts.service import Account
from loft.console import queries, sessions
from loft.console.sessions import Session
from loft.context import Loft
from loft.errors import InvalidParameter, PermissionDenied, TwilioApiError
from loft.kit import dates, forms

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(moment: Any) -> str:
    """A stored datetime as ``2025-01-31 12:34:56 UTC``."""
    if moment is None:
        return ""
    return str(dates.as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC"))


templates.filters["when"] = when


@dataclass(slots=True)
class Visit:
    """One request of a signed-in person: ``principal`` signed in, ``account`` is the account the pages show and
    change (``principal`` itself, or the subaccount the session switched to)."""

    request: Request
    loft: Loft
    session: Session
    principal: Account
    account: Account
    form: forms.Form = field(default_factory=forms.Form)
    #: The accounts the header's switcher offers (none: no switcher), see :func:`queries.switchable`.
    switchable: list[queries.Choice] = field(default_factory=list)

    @property
    def acting(self) -> bool:
        """Whether the session acts as a subaccount of the account it signed in as."""
        return self.account.sid != self.principal.sid

    @property
    def path_params(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def query(self) -> Any:
        return self.request.query_params

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        return render(self.request, template, self.session, account=self.account, status=status,
                      principal=self.principal, switchable=self.switchable, **values)


PageHandler = Callable[[Visit], Awaitable[Response]]


def render(request: Request, template: str, session: Session, *, account: Account | None, status: int = 200,
           **values: Any) -> Response:
    notice = sessions.take_flash(request)
    loft = context.of(request)
    values.setdefault("principal", account)
    values.setdefault("switchable", [])
    html = templates.get_template(template).render(
        csrf_field=sessions.CSRF_FIELD,
        csrf_token=session.csrf,
        account=account,
        via_key=session.key_sid,
        flash=notice,
        path=request.url.path,
        base_url=base_url(request, loft),
        **values,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if notice is not None:
        sessions.drop_flash(response)
    if sessions.read(request) != session:  # a new session; an existing one keeps its expiry
        sessions.write(request, response, session)
    return response


def base_url(request: Request, loft: Loft) -> str:
    """Where SDKs should point: the configured public URL, else the address this browser used."""
    if loft.settings.public_url:
        return loft.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def redirect(request: Request, to: str, *, notice: str | None = None, error: str | None = None,
             secret: dict[str, str] | None = None) -> Response:
    response = RedirectResponse(to, status_code=303, headers=SECURITY_HEADERS)
    if error is not None:
        sessions.flash(request, response, "error", error)
    elif notice is not None or secret is not None:
        sessions.flash(request, response, "notice", notice or "", secret=secret)
    return response


async def _visit(request: Request, session: Session | None, *, form: forms.Form | None = None,
                 switcher: bool = False) -> Visit | None:
    """The signed-in visit of ``request``, or None when its session does not stand; ``switcher``: with the
    accounts the header's switcher offers (a session opened with the auth token of a main account or any other
    account that has subaccounts)."""
    principal = await sessions.account_of(request, session) if session else None
    if session is None or principal is None:
        return None
    account = await sessions.acting_as(request, session, principal)
    loft = context.of(request)
    choices: list[queries.Choice] = []
    if switcher and session.key_sid is None and principal.parent_sid is None:
        async with loft.db.read() as conn:
            choices = await queries.switchable(conn, principal.sid)
    return Visit(request, loft, session, principal, account, form if form is not None else forms.Form(),
                 choices if len(choices) > 1 else [])


def page(handler: PageHandler, *, poll: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """A GET; ``poll``: it answers a page's script (JSON), not a person, so it needs no header."""

    async def endpoint(request: Request) -> Response:
        session = sessions.read(request)
        visit = await _visit(request, session, switcher=not poll)
        if visit is None:
            response = RedirectResponse("/console/signin", status_code=303, headers=SECURITY_HEADERS)
            sessions.write(request, response, sessions.anonymous())
            return response
        try:
            return await handler(visit)
        except TwilioApiError as error:
            return visit.render("error.html", status=error.status, error=error.at(request.url.path))

    return endpoint


def action(handler: PageHandler, *, back: Callable[[Visit], str] | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A POST: signed in, CSRF-checked; a service's error goes back to the page it came from as a message."""

    async def endpoint(request: Request) -> Response:
        session = sessions.read(request)
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            form = await forms.read(request)
        except InvalidParameter as error:
            return refused(request, error.message, 400, wants_json=wants_json)
        if session is None or not sessions.csrf_ok(session, form.get(sessions.CSRF_FIELD)
                                                   or request.headers.get(sessions.CSRF_HEADER)):
            return refused(request, "This form has expired or did not come from the console (CSRF check failed). "
                           "Reload the page and try again.", 403, wants_json=wants_json)
        visit = await _visit(request, session, form=form, switcher=not wants_json)
        if visit is None:
            if wants_json:
                return JSONResponse({"error": "You are signed out."}, status_code=401, headers=SECURITY_HEADERS)
            return redirect(request, "/console/signin", error="Your session has ended: sign in again.")
        try:
            return await handler(visit)
        except TwilioApiError as raised:
            answered = raised.at(request.url.path)
            if wants_json:
                return JSONResponse({"error": answered.message, "code": answered.code}, status_code=answered.status,
                                    headers=SECURITY_HEADERS)
            return redirect(request, back(visit) if back else came_from(request), error=describe(answered))

    return endpoint


async def missing(request: Request, error: TwilioApiError) -> Response:
    """A routing miss under ``/console`` (no such page, or no such method on it): the console's HTML error page,
    with its navigation for a signed-in person, where the API answers Twilio's JSON."""
    session = sessions.read(request)
    visit = await _visit(request, session, switcher=True)
    if visit is not None:
        return visit.render("error.html", status=error.status, error=error)
    html = templates.get_template("error.html").render(account=None, flash=None, error=error)
    return HTMLResponse(html, status_code=error.status, headers=SECURITY_HEADERS)


def needs_auth_token(visit: Visit) -> None:
    """Refuse what Twilio keeps from standard API keys (the auth token, subaccounts, keys) to a key's session."""
    if visit.session.key_sid is not None:
        raise PermissionDenied("This session was opened with an API key, which cannot see the auth token or manage "
                               "subaccounts and keys: sign in with the Account SID and auth token")


def refused(request: Request, text: str, status: int, *, wants_json: bool) -> Response:
    if wants_json:
        return JSONResponse({"error": text}, status_code=status, headers=SECURITY_HEADERS)
    html = templates.get_template("refused.html").render(text=text, status=status)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def came_from(request: Request) -> str:
    """The console page the form was on (from Referer), else the dashboard."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc == request.url.netloc and parts.path.startswith("/console"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/console"


def describe(error: TwilioApiError) -> str:
    return f"{error.message} (error {error.code})"
