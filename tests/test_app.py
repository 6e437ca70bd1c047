"""The ASGI application's own routing: ``POST …/Messages`` goes straight to its endpoint (``MessageCreates``),
and its errors are answered as Starlette's exception handlers answer every other route's."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from loft import app as application
from loft.errors import InvalidParameter
from loft.messages import endpoints


def _post(path: str, endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[httpx.Response, list[str]]:
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await PlainTextResponse("inner")(scope, receive, send)

    monkeypatch.setattr(endpoints, "create_message", endpoint)
    asgi = application.MessageCreates(inner, None)  # type: ignore[arg-type]

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://loft") as http:
            return await http.post(path, data={"To": "+15558675310"})

    return asyncio.run(call()), seen


@pytest.mark.parametrize(("suffix", "fmt"), [(".json", "json"), (".xml", "xml"), ("", "xml")])
def test_message_creates_reach_their_endpoint_with_the_path_parameter_and_format(
        suffix: str, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{request.path_params['account_sid']} {request.scope['loft.format']} "
                                 f"{request.scope['loft.path']}", status_code=201)

    response, inner = _post(f"/2010-04-01/Accounts/AC123/Messages{suffix}", endpoint, monkeypatch)
    assert (response.status_code, response.text) == (201, f"AC123 {fmt} /2010-04-01/Accounts/AC123/Messages{suffix}")
    assert inner == []


@pytest.mark.parametrize("path", ["/2010-04-01/Accounts/AC123/Messages/SM1.json",
                                  "/2010-04-01/Accounts/AC123/Calls.json", "/2010-04-01/Accounts/AC123/Messages.csv",
                                  "/healthz"])
def test_other_requests_go_to_the_application(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def endpoint(request: Request) -> Response:
        raise AssertionError("not for this path")

    response, inner = _post(path, endpoint, monkeypatch)
    assert response.text == "inner" and inner == [path]


def test_a_refused_create_is_answered_with_twilio_s_error_body(monkeypatch: pytest.MonkeyPatch) -> None:
    async def endpoint(request: Request) -> Response:
        raise InvalidParameter(21604, "A 'To' phone number is required.")

    response, _ = _post("/2010-04-01/Accounts/AC123/Messages.json", endpoint, monkeypatch)
    assert response.status_code == 400
    assert response.json() == {"code": 21604, "message": "A 'To' phone number is required.",
                               "more_info": "https://www.twilio.com/docs/errors/21604", "status": 400}


def test_an_unexpected_error_is_a_500_body_without_a_traceback(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    async def endpoint(request: Request) -> Response:
        raise RuntimeError("the secret is 4242")

    response, _ = _post("/2010-04-01/Accounts/AC123/Messages.xml", endpoint, monkeypatch)
    assert response.status_code == 500
    assert "<Code>20500</Code>" in response.text
    assert "4242" not in response.text and "Traceback" not in response.text
    assert "unhandled error on POST /2010-04-01/Accounts/AC123/Messages.xml" in caplog.text
