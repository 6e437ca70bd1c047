"""Loft's private uses of its libraries (:mod:`loft.adapters`), each exercised on the real library: a failure here
after an upgrade names what changed under Loft (re-check the place that uses it, then the pin in pyproject.toml)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import textwrap
import tomllib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import aiohttp
import httptools
import httpx
import pytest
from httpx_aiohttp import AiohttpTransport
from packaging.requirements import Requirement
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from loft import outbound, serving
from loft.adapters import httpclient
from tests.support.asgi import served

#: The libraries whose private parts Loft uses outside loft/db, as pyproject.toml names them.
PINNED = ("uvicorn", "httptools", "starlette", "httpx", "httpx-aiohttp", "aiohttp")
#: uvicorn's ``HttpToolsProtocol.data_received`` as LoftHttpProtocol copied it (uvicorn 0.55.0): sha256 of its
#: dedented source.
UVICORN_DATA_RECEIVED = "02c2572f1df559070eba7f206a3f7e251782f5af4aaae194fc1ffb67f24c3873"


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    found = (Requirement(line) for line in project["dependencies"])
    return {requirement.name.lower(): requirement for requirement in found}


@pytest.mark.parametrize("name", PINNED)
def test_each_library_is_pinned_and_installed_within_its_pin(name: str) -> None:
    """A pin with an upper bound (the next minor release of a 0.x library, the next major of the others), and the
    version installed inside it: the one these tests ran against."""
    requirement = _requirements()[name]
    assert any(spec.operator == "<" for spec in requirement.specifier), f"{name} has no upper bound"
    assert requirement.specifier.contains(metadata.version(name)), (name, metadata.version(name))


# httpx and httpx-aiohttp (loft.adapters.httpclient) --------------------------------------------------------------


@asynccontextmanager
async def _http_server(answer: bool = True) -> AsyncIterator[str]:
    """A plain HTTP server on loopback answering every request with ``ok`` (or never answering)."""

    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                if not answer:
                    await asyncio.sleep(60)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()


def _closed_port_url() -> str:
    from tests.support.server import free_port

    return f"http://127.0.0.1:{free_port()}/"


def test_a_client_s_transport_is_the_one_it_sends_through() -> None:
    """httpx's ``AsyncClient._transport``."""

    async def main() -> None:
        given = httpx.MockTransport(lambda request: httpx.Response(200))
        async with httpx.AsyncClient(transport=given) as plain:
            assert httpclient.transport_of(plain) is given
        client = outbound.client(outbound.Guard.of(""))
        try:
            assert isinstance(httpclient.transport_of(client), AiohttpTransport)
            assert outbound.transport(client) is httpclient.transport_of(client)
        finally:
            await client.aclose()

    asyncio.run(main())


def test_the_session_a_straight_request_uses_is_the_transport_s_own() -> None:
    """httpx-aiohttp's ``AiohttpTransport.client`` / ``get_client()``: the session made for a request sent beside
    the transport is the one the transport sends on afterwards (one pool of connections, closed with the client)."""

    async def main() -> None:
        client = outbound.client(outbound.Guard.of(""))
        transport = httpclient.transport_of(client)
        assert isinstance(transport, AiohttpTransport)
        try:
            async with _http_server() as url:
                session = httpclient.session_of(transport)
                async with session.request("GET", url) as response:
                    assert await response.text() == "ok"
                sent = await transport.handle_async_request(httpx.Request("GET", url))
                await sent.aread()
                assert sent.status_code == 200
                assert transport.client is session and httpclient.session_of(transport) is session
        finally:
            await client.aclose()
        assert session.closed

    asyncio.run(main())


async def _through_transport(url: str, timeouts: dict[str, float | None]) -> BaseException:
    client = outbound.client(outbound.Guard.of(""))
    try:
        request = httpx.Request("GET", url, extensions={"timeout": timeouts})
        with pytest.raises(httpx.HTTPError) as raised:
            await httpclient.transport_of(client).handle_async_request(request)
        return raised.value
    finally:
        await client.aclose()


async def _straight(url: str, timeouts: dict[str, float | None]) -> BaseException:
    client = outbound.client(outbound.Guard.of(""))
    transport = httpclient.transport_of(client)
    assert isinstance(transport, AiohttpTransport)
    try:
        with pytest.raises(httpx.HTTPError) as raised, httpclient.errors_as_httpx():
            async with httpclient.session_of(transport).request(
                    "GET", url, timeout=httpclient.aiohttp_timeout(timeouts)) as response:
                await response.read()
        return raised.value
    finally:
        await client.aclose()


def test_errors_beside_the_transport_are_the_transport_s_own() -> None:
    """``httpx_aiohttp.transport.map_aiohttp_exceptions`` and the transport's timeout mapping: a refused connection
    and a read timeout raise the same httpx errors whether the request went through the transport or beside it."""
    timeouts = httpx.Timeout(connect=5, read=0.3, write=0.3, pool=5).as_dict()

    async def main() -> list[tuple[type[BaseException], type[BaseException]]]:
        url = _closed_port_url()
        refused = (type(await _through_transport(url, timeouts)), type(await _straight(url, timeouts)))
        async with _http_server(answer=False) as silent:
            late = (type(await _through_transport(silent, timeouts)), type(await _straight(silent, timeouts)))
        return [refused, late]

    refused, late = asyncio.run(main())
    assert refused[0] is refused[1] and issubclass(refused[0], httpx.TransportError), refused
    assert late == (httpx.ReadTimeout, httpx.ReadTimeout)


def test_the_timeouts_beside_the_transport_are_the_ones_it_makes() -> None:
    """The transport's ``ClientTimeout`` for a request's ``timeout`` extension, seen by the session it sends on."""
    seen: list[aiohttp.ClientTimeout] = []

    async def main() -> None:
        async with aiohttp.ClientSession() as session, _http_server() as url:
            class Watching:
                def request(self, *args: Any, **kwargs: Any) -> Any:
                    seen.append(kwargs["timeout"])
                    return session.request(*args, **kwargs)

            for timeouts in (httpx.Timeout(connect=1, read=2, write=3, pool=4).as_dict(),
                             httpx.Timeout(None).as_dict(), {}):
                transport = AiohttpTransport(client=cast(Any, Watching))
                response = await transport.handle_async_request(
                    httpx.Request("GET", url, extensions={"timeout": timeouts}))
                await response.aread()
                await response.aclose()
                assert seen[-1] == httpclient.aiohttp_timeout(timeouts), (timeouts, seen[-1])

    asyncio.run(main())
    assert len(seen) == 3


# uvicorn and httptools (loft.serving.LoftHttpProtocol) -----------------------------------------------------------


def test_uvicorn_s_data_received_is_the_one_loft_copied() -> None:
    """LoftHttpProtocol.data_received is uvicorn's with the limits added: a change to uvicorn's must be looked at
    (and copied) before this digest is updated."""
    source = textwrap.dedent(inspect.getsource(HttpToolsProtocol.data_received))
    assert hashlib.sha256(source.encode()).hexdigest() == UVICORN_DATA_RECEIVED, source


def test_uvicorn_s_protocol_has_the_constructor_and_methods_loft_uses() -> None:
    assert list(inspect.signature(HttpToolsProtocol.__init__).parameters) == [
        "self", "config", "server_state", "app_state", "_loop"]
    for name in ("_unset_keepalive_if_required", "_should_upgrade", "handle_websocket_upgrade",
                 "_unsupported_upgrade_warning", "send_400_response", "connection_made", "connection_lost",
                 "data_received", "on_message_begin", "on_headers_complete", "on_message_complete",
                 "on_response_complete"):
        assert callable(getattr(HttpToolsProtocol, name, None)), name
    # Loft overrides these only to add to them: each calls uvicorn's.
    for name in ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete",
                 "on_message_complete", "on_response_complete"):
        assert f"super().{name}(" in inspect.getsource(getattr(serving.LoftHttpProtocol, name)), name


def test_the_protocol_state_loft_reads_is_uvicorn_s() -> None:
    """Read from inside a request, on a real server running LoftHttpProtocol: what each private holds."""
    found: dict[str, Any] = {}
    box: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        (protocol,) = box["server"].server_state.connections
        cycle = protocol.cycle
        found.update(
            connections=protocol.connections is box["server"].server_state.connections,
            loop=protocol.loop is asyncio.get_running_loop(),
            transport=isinstance(protocol.transport, serving.TurnWrites),
            parser=isinstance(protocol.parser, httptools.HttpRequestParser),
            url=protocol.url, pipeline=isinstance(protocol.pipeline, deque),
            headers=(b"x-probe", b"yes") in protocol.headers
            and all(isinstance(name, bytes) and isinstance(value, bytes) for name, value in protocol.headers),
            read_paused=protocol.flow.read_paused, logger=protocol.logger.name,
            cycle=(cycle.response_started, cycle.response_complete, cycle.disconnected,
                   isinstance(cycle.message_event, asyncio.Event)))
        await PlainTextResponse("ok")(scope, receive, send)
        found["after"] = (cycle.response_started, cycle.response_complete)

    with served(app) as (server, url):
        box["server"] = server
        with httpx.Client() as client:
            assert client.get(f"{url}/probe?x=1", headers={"X-Probe": "yes"}).text == "ok"
    assert found == {
        "connections": True, "loop": True, "transport": True, "parser": True, "url": b"/probe?x=1",
        "headers": True,
        "pipeline": True, "read_paused": False, "logger": "uvicorn.error",
        "cycle": (False, False, False, True), "after": (True, True)}


def test_an_exception_in_a_parser_callback_is_the_context_of_the_parser_s_error() -> None:
    """httptools: how LoftHttpProtocol's refusals (raised in ``on_headers_complete``) get through ``feed_data``."""

    class Refused(Exception):
        pass

    class Callbacks:
        def on_headers_complete(self) -> None:
            raise Refused()

    parser = httptools.HttpRequestParser(Callbacks())
    with pytest.raises(httptools.HttpParserCallbackError) as raised:
        parser.feed_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(raised.value.__context__, Refused)


# Starlette: loft.app.LoftStarlette builds its stack from the declared middleware alone ---------------------------


def test_starlette_builds_the_stack_with_build_middleware_stack_from_user_middleware(tmp_path: Path) -> None:
    """``Starlette.__call__`` makes its stack with ``build_middleware_stack`` on the first request, and
    ``user_middleware`` holds the declared list: the stack ``LoftStarlette`` builds is exactly the declared layers
    around the router, without Starlette's own exception layers."""
    from starlette.middleware.errors import ServerErrorMiddleware
    from starlette.middleware.exceptions import ExceptionMiddleware

    from loft import app as application
    from loft.config import Settings
    from loft.front import Front

    asgi = cast(Any, application.create_app(Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1")))
    assert [entry.cls.__name__ for entry in asgi.user_middleware] == ["Front", "behind"]

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://loft") as http:
            return await http.get("/2010-04-01/Accounts/AC123/Nope.json")

    answer = asyncio.run(call())
    assert answer.status_code == 404 and answer.json()["code"] == 20404  # Front answered the routing miss
    stack = asgi.middleware_stack
    assert isinstance(stack, Front)
    layers = [stack, stack.app, cast(Any, stack.app).app]  # Front, uvicorn's proxy headers, the router
    assert layers[2] is asgi.router
    assert not [layer for layer in layers if isinstance(layer, (ServerErrorMiddleware, ExceptionMiddleware))]
    # And Starlette's own build would have added them: what LoftStarlette overrides is still there to override.
    from starlette.applications import Starlette
    built = Starlette.build_middleware_stack(asgi)
    assert isinstance(built, ServerErrorMiddleware)
