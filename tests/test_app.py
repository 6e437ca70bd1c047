"""The ASGI application's stack: every middleware of :func:`loft.app.middleware` sees every request, the busy
``POST …/Messages`` included (a route of the router, :class:`loft.app.CreateRoute`), and the create's errors are
answered by the exception handlers every route has."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loft import app as application
from loft.config import Settings
from loft.errors import InvalidParameter
from loft.kit import render
from tests.support import clients
from tests.support.asgi import served

#: A sender every account may use without owning it (Twilio's magic test number).
MAGIC_FROM = "+15005550006"


class _Spy:
    """Just outside one declared middleware: notes each HTTP request that reaches it, under the entry's name."""

    def __init__(self, app: ASGIApp, *, entry: Middleware, seen: list[tuple[str, str, str]]) -> None:
        factory, args, kwargs = entry
        self.name = getattr(factory, "__name__", repr(factory))
        self.inner: ASGIApp = factory(app, *args, **kwargs)
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # (the path as written: inside Front, the scope's path has no format suffix)
            self.seen.append((self.name, scope["method"], scope.get(render.PATH_KEY, scope["path"])))
        await self.inner(scope, receive, send)


def test_every_declared_middleware_sees_a_create(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each entry of the declared list (all of them: metrics on, a trusted proxy) is wrapped in a spy; a message
    created with the twilio SDK on a real server must have passed every one."""
    seen: list[tuple[str, str, str]] = []
    declared = application.middleware
    names: list[str] = []

    def spied(settings: Settings, recorder: Any, routes: Any) -> list[Middleware]:
        entries = declared(settings, recorder, routes)
        names.extend(getattr(entry.cls, "__name__", repr(entry.cls)) for entry in entries)
        return [Middleware(_Spy, entry=entry, seen=seen) for entry in entries]

    monkeypatch.setattr(application, "middleware", spied)
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    settings = Settings(data_dir=tmp_path, account_sid=sid, auth_token=token,  # type: ignore[arg-type]
                        trusted_proxies="127.0.0.1", workers=False)
    with served(application.create_app(settings)) as (_, url):
        message = clients.sdk(url, sid, token).messages.create(to="+16502530001", from_=MAGIC_FROM, body="hi")
    assert message.sid.startswith("SM")
    assert names == ["Front", "behind"]
    create = ("POST", f"/2010-04-01/Accounts/{sid}/Messages.json")
    assert [name for name in names if (name, *create) not in seen] == []


def _scope(method: str, path: str) -> Scope:
    return {"type": "http", "method": method, "path": path}


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/2010-04-01/Accounts/AC123/Messages/SM1"), ("GET", "/2010-04-01/Accounts/AC123/Messages"),
    ("PUT", "/2010-04-01/Accounts/AC123/Messages"), ("POST", "/2010-04-01/Accounts/AC123/Calls"),
    ("POST", "/2010-04-01/Accounts/AC123/Messages.csv"), ("POST", "/healthz")])
def test_the_create_route_takes_only_creates(method: str, path: str) -> None:
    """Anything else falls through to the routes after it (the format suffix is off the path by then)."""
    assert application.CREATE.matches(_scope(method, path)) == (Match.NONE, {})


def test_the_create_route_gives_the_endpoint_the_account_in_the_path() -> None:
    match, child = application.CREATE.matches(_scope("POST", "/2010-04-01/Accounts/AC123/Messages"))
    assert match is Match.FULL and child["path_params"] == {"account_sid": "AC123"}
    assert application.CREATE.path == "/2010-04-01/Accounts/{account_sid}/Messages"  # its metrics label


def _post(tmp_path: Path, path: str, endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> httpx.Response:
    """``path`` posted to the whole application, its create endpoint replaced by ``endpoint``."""
    monkeypatch.setattr(application.CREATE, "answer", endpoint)
    asgi = application.create_app(Settings(data_dir=tmp_path))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://loft") as http:
            return await http.post(path, data={"To": "+15558675310"})

    return asyncio.run(call())


@pytest.mark.parametrize(("suffix", "fmt"), [(".json", "json"), (".xml", "xml"), ("", "xml")])
def test_message_creates_reach_their_endpoint_with_the_path_parameter_and_format(
        suffix: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{request.path_params['account_sid']} {request.scope['loft.format']} "
                                 f"{request.scope['loft.path']}", status_code=201)

    response = _post(tmp_path, f"/2010-04-01/Accounts/AC123/Messages{suffix}", endpoint, monkeypatch)
    assert (response.status_code, response.text) == (201, f"AC123 {fmt} /2010-04-01/Accounts/AC123/Messages{suffix}")


def test_a_refused_create_is_answered_with_twilio_s_error_body(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    async def endpoint(request: Request) -> Response:
        raise InvalidParameter(21604, "A 'To' phone number is required.")

    response = _post(tmp_path, "/2010-04-01/Accounts/AC123/Messages.json", endpoint, monkeypatch)
    assert response.status_code == 400
    assert response.json() == {"code": 21604, "message": "A 'To' phone number is required.",
                               "more_info": "https://www.twilio.com/docs/errors/21604", "status": 400}


def test_an_unexpected_error_is_a_500_body_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    async def endpoint(request: Request) -> Response:
        raise RuntimeError("the secret is 4242")

    response = _post(tmp_path, "/2010-04-01/Accounts/AC123/Messages.xml", endpoint, monkeypatch)
    assert response.status_code == 500
    assert "<Code>20500</Code>" in response.text
    assert "4242" not in response.text and "Traceback" not in response.text
    assert "unhandled error on POST /2010-04-01/Accounts/AC123/Messages.xml" in caplog.text


def _sample_paths(templates: list[str]) -> list[str]:
    """A path for each template (each parameter filled in), with and without a trailing slash, each template's
    literal start alone and one character short of it, and paths no route has."""
    import re

    paths = {"/", "", "/nope", "/2010-04-01", "/2010-04-01/Accounts/AC1/Nope/SM1", "/v1/Services/MG1/Nope"}
    for template in templates:
        filled = re.sub(r"\{[^}]+\}", "X1", template)
        literal = template.split("{", 1)[0]
        paths |= {filled, filled + "/", literal, literal[:-1], filled + "/extra"}
    return sorted(paths)


def test_routes_that_check_their_literal_start_match_what_starlette_s_routes_match(tmp_path: Path) -> None:
    """Every plain route of the application checks its template's literal start first
    (:class:`loft.app.LiteralStartRoute`), and answers every scope as Starlette's own ``Route.matches`` does: the
    same match and the same child scope, for every route's paths and others, any method, with and without a
    ``root_path``. The router takes the first route that matches, so it picks the same one."""
    import re

    from starlette.applications import Starlette
    from starlette.routing import Route

    asgi = application.create_app(Settings(data_dir=tmp_path))
    assert isinstance(asgi, Starlette)
    routes = asgi.router.routes
    assert not [route for route in routes if type(route) is Route]
    checked = [route for route in routes if isinstance(route, application.LiteralStartRoute)]
    assert len(checked) > 100
    paths = _sample_paths([route.path for route in checked])
    compared = 0
    for route in checked:
        for path in paths:
            for method in ("GET", "POST", "DELETE"):
                for root_path in (None, "", "/prefix"):
                    scope = _scope(method, (root_path or "") + path)
                    if root_path is not None:
                        scope["root_path"] = root_path
                    assert route.matches(scope) == Route.matches(route, scope), (route.path, method, scope["path"])
                    compared += 1
    # Not vacuous: each route matches a path of its own with one of its methods.
    for route in checked:
        method = sorted(route.methods)[0] if route.methods else "GET"
        own = re.sub(r"\{[^}]+\}", "X1", route.path)
        assert route.matches(_scope(method, own))[0] is Match.FULL, route.path
    assert compared == len(checked) * len(paths) * 9


def test_an_error_after_the_answer_began_is_logged_and_not_answered_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """An answer that has begun cannot be replaced: the error (even one with a handler of its own) is logged as a
    server error and raised again for the server, and no second answer is started."""
    starts: list[int] = []

    class _Begun:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise InvalidParameter(21604, "A 'To' phone number is required.")

    async def endpoint(request: Request) -> Response:
        return cast(Response, _Begun())

    monkeypatch.setattr(application.CREATE, "answer", endpoint)
    asgi = application.create_app(Settings(data_dir=tmp_path))
    scope = {"type": "http", "method": "POST", "path": "/2010-04-01/Accounts/AC123/Messages.json",
             "raw_path": b"/2010-04-01/Accounts/AC123/Messages.json", "query_string": b"", "headers": [],
             "root_path": "", "scheme": "http", "server": ("loft", 80), "client": ("127.0.0.1", 1)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            starts.append(message["status"])

    async def call() -> None:
        await asgi(scope, receive, send)

    with pytest.raises(InvalidParameter):
        asyncio.run(call())
    assert starts == [200]
    assert "unhandled error on POST /2010-04-01/Accounts/AC123/Messages.json" in caplog.text
