"""What the relay makes of each answer of the upstream's Messages API (httpx's MockTransport stands in for the
upstream: this is the code that calls out), and the request it sends."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from loft.delivery.carriers.base import Accepted, Deferred, Outgoing, Rejected
from loft.delivery.carriers.plan import TwilioSettings
from loft.delivery.carriers.relay import Unreachable, Upstream, is_message_error

ACCOUNT = "AC" + "a" * 32
TOKEN = "upstream-token-0123456789abcdef"
KEY, SECRET = "SK" + "b" * 32, "key-secret-0123456789"
CALLBACK = "https://loft.example.com/carriers/upstream/status"
MESSAGE = Outgoing("SM" + "c" * 32, "AC" + "d" * 32, "+14155550100", "+447700900123", "hello",
                   ("https://tenant.example.com/a.png", "https://tenant.example.com/b.png"))


def _settings(**more: Any) -> TwilioSettings:
    return TwilioSettings(type="twilio", base_url="https://upstream.example.com/", account_sid=ACCOUNT,
                          auth_token=SecretStr(TOKEN), request_seconds=2, **more)


def _create(answer: Callable[[httpx.Request], httpx.Response], settings: TwilioSettings | None = None,
            message: Outgoing = MESSAGE) -> Accepted:
    async def run() -> Accepted:
        upstream = Upstream(settings or _settings(), transport=httpx.MockTransport(answer))
        try:
            return await upstream.create(message, status_callback=CALLBACK)
        finally:
            await upstream.close()

    return asyncio.run(run())


def _answer(status: int, body: Any = None, headers: dict[str, str] | None = None
            ) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, text=body or "", headers=headers)
    return answer


def _error(code: int, status: int) -> dict[str, Any]:
    return {"code": code, "message": f"error {code}", "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def test_the_request_is_twilios_create_with_a_status_callback_back_to_loft() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM" + "e" * 32, "status": "queued"})

    accepted = _create(answer)
    assert accepted.references == ("SM" + "e" * 32,)
    assert accepted.detail == {"upstream_sid": "SM" + "e" * 32, "upstream_status": "queued"}
    request = seen[0]
    assert (request.method, str(request.url)) == (
        "POST", f"https://upstream.example.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert parse_qsl(request.content.decode()) == [
        ("To", "+447700900123"), ("From", "+14155550100"), ("Body", "hello"),
        ("MediaUrl", "https://tenant.example.com/a.png"), ("MediaUrl", "https://tenant.example.com/b.png"),
        ("StatusCallback", CALLBACK)]


def test_an_api_key_is_used_when_the_carriers_file_gives_one() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM" + "e" * 32, "status": "queued"})

    _create(answer, _settings(api_key_sid=KEY, api_key_secret=SecretStr(SECRET)),
            Outgoing("SM" + "c" * 32, "AC" + "d" * 32, "+14155550100", "+447700900123", ""))
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert "Body" not in dict(parse_qsl(seen[0].content.decode()))  # media alone: no empty Body


@pytest.mark.parametrize("status, body, code", [
    pytest.param(400, _error(21211, 400), 21211, id="21211-invalid-to"),
    pytest.param(400, _error(21612, 400), 21612, id="21612-not-reachable"),
    pytest.param(400, _error(21408, 400), 21408, id="21408-region-not-enabled"),
    pytest.param(400, _error(21610, 400), 21610, id="21610-opted-out"),
    pytest.param(400, _error(30007, 400), 30007, id="30007-filtered"),
    pytest.param(400, _error(63016, 400), 63016, id="63016-channel"),
    pytest.param(400, _error(20001, 400), 30008, id="20001-not-a-message-error"),
    pytest.param(404, _error(20404, 404), 30008, id="20404-not-found"),
    pytest.param(403, _error(20003, 403), 30008, id="403-permission"),
    pytest.param(400, "<html>bad request</html>", 30008, id="not-twilios-error-body"),
    pytest.param(400, {"code": True, "message": "?"}, 30008, id="a-code-that-is-not-a-number"),
    pytest.param(201, {"status": "queued"}, 30008, id="2xx-without-a-sid"),
    pytest.param(200, "ok", 30008, id="2xx-not-json"),
])
def test_a_refusal_fails_the_message_with_the_upstreams_message_error_or_30008(status: int, body: Any,
                                                                               code: int) -> None:
    with pytest.raises(Rejected) as refused:
        _create(_answer(status, body))
    assert refused.value.error_code == code
    assert refused.value.detail["upstream_status"] == status


@pytest.mark.parametrize("status, body, headers, wait", [
    pytest.param(429, _error(20429, 429), {}, 1.0, id="429"),
    pytest.param(429, _error(20429, 429), {"Retry-After": "7"}, 7.0, id="429-retry-after-seconds"),
    pytest.param(400, _error(20429, 400), {}, 1.0, id="code-20429"),
    pytest.param(500, _error(20500, 500), {}, 5.0, id="500"),
    pytest.param(503, "maintenance", {"Retry-After": "120"}, 120.0, id="503-retry-after"),
    pytest.param(502, "", {"Retry-After": "99999"}, 600.0, id="retry-after-bounded"),
])
def test_throttling_and_upstream_failures_are_deferred(status: int, body: Any, headers: dict[str, str],
                                                       wait: float) -> None:
    with pytest.raises(Deferred) as deferred:
        _create(_answer(status, body, headers))
    assert not isinstance(deferred.value, Unreachable)
    assert deferred.value.retry_after == wait


def test_retry_after_as_an_http_date_is_honoured() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    with pytest.raises(Deferred) as deferred:
        _create(_answer(429, _error(20429, 429), {"Retry-After": later}))
    assert 25 <= deferred.value.retry_after <= 31


@pytest.mark.parametrize("failure", [
    pytest.param(httpx.ConnectError("refused"), id="connection-refused"),
    pytest.param(httpx.ConnectTimeout("slow"), id="connect-timeout"),
    pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
    pytest.param(httpx.RemoteProtocolError("garbage"), id="protocol-error"),
])
def test_an_upstream_that_cannot_be_reached_is_deferred(failure: Exception) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(Unreachable) as deferred:
        _create(answer)
    assert deferred.value.__cause__ is failure
    assert TOKEN not in str(deferred.value)


@pytest.mark.parametrize("status, headers", [
    pytest.param(401, {}, id="credentials-refused"),
    pytest.param(301, {"Location": "https://elsewhere.example.com/"}, id="redirect-not-followed"),
])
def test_the_relays_own_mistakes_are_deferred_as_unreachable(status: int, headers: dict[str, str]) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=_error(20003, status), headers=headers)

    with pytest.raises(Unreachable):
        _create(answer)
    assert len(seen) == 1  # the redirect was not followed


@pytest.mark.parametrize("code, answer", [(21211, True), (21999, True), (30003, True), (63016, True),
                                          (20003, False), (20429, False), (11200, False), (None, False)])
def test_message_error_codes(code: int | None, answer: bool) -> None:
    assert is_message_error(code) is answer
