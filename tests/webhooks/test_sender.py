"""Sending webhooks: signing, query building, HTTP auth challenges, retries per policy, timeouts, error codes.

Most tests answer through ``httpx.MockTransport``; the last ones talk to real sockets on 127.0.0.1 (a closed port,
a listener that never accepts, servers that hang up, speak no HTTP or show a certificate no one trusts).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl
from urllib.request import parse_http_list

import httpx
import pytest
from twilio.request_validator import RequestValidator

from loft import outbound
from loft.webhooks import sender
from loft.webhooks.sender import Outcome, WebhookRequest, send
from tests.support import receiver as receivers
from tests.support.tls_front import self_signed
from tests.webhooks.test_signing import MultiParams

TOKEN = "0123456789abcdef0123456789abcdef"
PARAMS = [("MessageSid", "SM" + "a" * 32), ("Body", "héllo & bye"), ("To", "+15005550006"), ("Body", "again")]

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def deliver(handler: Handler, url: str, method: str = "POST", params: list[tuple[str, str]] | None = None,
            idempotency_token: str = "idem-1") -> tuple[Outcome, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def recording(request: httpx.Request) -> httpx.Response:
        # Auth flows edit a request's headers in place: keep a copy of what went on the wire.
        seen.append(httpx.Request(request.method, request.url, headers=request.headers.copy(),
                                  content=request.content))
        answer = handler(request)
        return await answer if isinstance(answer, Awaitable) else answer

    async def go() -> Outcome:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as client:
            return await send(client, WebhookRequest(url=url, method="GET" if method == "GET" else "POST",
                                                     params=PARAMS if params is None else params,
                                                     auth_token=TOKEN, idempotency_token=idempotency_token))

    return asyncio.run(go()), seen


async def send_for_real(url: str, idempotency_token: str = "t", deny: str = "") -> Outcome:
    """``send`` a POST of PARAMS through Loft's own client (aiohttp underneath, real sockets), with the outbound
    guard denying ``deny``."""
    async with outbound.client(outbound.Guard.of(deny)) as client:
        return await send(client, WebhookRequest(url=url, method="POST", params=PARAMS, auth_token=TOKEN,
                                                 idempotency_token=idempotency_token))


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="<Response/>", headers={"Content-Type": "text/xml"})


def sequence(*answers: int | Exception) -> Handler:
    """Answer each call with the next status (or raise the next error); the last answer repeats."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers[min(len(calls), len(answers) - 1)]
        calls.append(1)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, text=f"answer {answer}")

    return handler


def test_post_is_signed_over_url_and_form_as_twilio_validator_checks() -> None:
    outcome, seen = deliver(ok, "https://hooks.example.com/sms?x=1#ct=1000&rc=2")
    [request] = seen
    form = parse_qsl(request.content.decode(), keep_blank_values=True)
    assert form == PARAMS
    assert str(request.url) == "https://hooks.example.com/sms?x=1"
    assert RequestValidator(TOKEN).validate("https://hooks.example.com/sms?x=1", MultiParams(form),
                                            request.headers["X-Twilio-Signature"])
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["User-Agent"] == "TwilioProxy/1.1"
    assert request.headers["Accept"] == "*/*"
    assert request.headers["I-Twilio-Idempotency-Token"] == "idem-1"
    assert "Authorization" not in request.headers
    assert outcome.ok and outcome.status_code == 200 and outcome.body == "<Response/>"
    assert outcome.content_type == "text/xml"
    [attempt] = outcome.attempts
    assert (attempt.number, attempt.url, attempt.method, attempt.error_code) == (
        1, "https://hooks.example.com/sms?x=1", "POST", None)


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        pytest.param("https://h.example/in", "https://h.example/in?A=1&B=x+y", id="no-query"),
        pytest.param("https://h.example/in?k=v", "https://h.example/in?k=v&A=1&B=x+y", id="existing-query"),
        pytest.param("https://h.example/in?", "https://h.example/in?A=1&B=x+y", id="empty-query"),
        pytest.param("https://u:p@h.example/in?k=v#rt=2000", "https://h.example/in?k=v&A=1&B=x+y",
                     id="credentials-and-fragment"),
    ],
)
def test_get_appends_params_to_query_and_signs_url_alone(url: str, sent: str) -> None:
    outcome, [request] = deliver(ok, url, method="GET", params=[("A", "1"), ("B", "x y")])
    assert request.method == "GET" and request.content == b""
    assert str(request.url) == sent
    assert "Content-Type" not in request.headers
    assert RequestValidator(TOKEN).validate(sent, {}, request.headers["X-Twilio-Signature"])
    assert outcome.attempts[0].url == sent


def test_a_json_body_goes_unsigned_with_its_headers() -> None:
    """Bot Framework Activities (loft/bots): JSON, no X-Twilio-Signature, the headers given (a bearer token)."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    async def go() -> Outcome:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
            return await send(client, WebhookRequest(url="https://bot.example/api/messages", method="POST",
                                                     params=PARAMS, auth_token=TOKEN, idempotency_token="i",
                                                     json='{"type": "message"}',
                                                     headers=(("Authorization", "Bearer t"),)))

    outcome = asyncio.run(go())
    [request] = seen
    assert outcome.ok and request.content == b'{"type": "message"}'
    assert request.headers["Content-Type"] == "application/json" and request.headers["Authorization"] == "Bearer t"
    assert "X-Twilio-Signature" not in request.headers and request.headers["I-Twilio-Idempotency-Token"] == "i"


def test_get_without_params_keeps_url() -> None:
    outcome, [request] = deliver(ok, "https://h.example/in?k=v", method="GET", params=[])
    assert str(request.url) == "https://h.example/in?k=v"
    assert RequestValidator(TOKEN).validate("https://h.example/in?k=v", {}, request.headers["X-Twilio-Signature"])


def refused() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


@pytest.mark.parametrize(
    ("fragment", "answers", "calls", "succeeded"),
    [
        pytest.param("", (refused(),), 2, False, id="default-retries-connect-error-once"),
        pytest.param("", (httpx.ConnectTimeout("t"),), 2, False, id="default-retries-connect-timeout-once"),
        pytest.param("", (refused(), 200), 2, True, id="default-retry-succeeds"),
        pytest.param("", (500,), 1, False, id="default-does-not-retry-5xx"),
        pytest.param("", (httpx.ReadTimeout("t"),), 1, False, id="default-does-not-retry-read-timeout"),
        pytest.param("#rc=0", (refused(),), 1, False, id="rc-0-no-retry"),
        pytest.param("#rc=3&rp=5xx", (503,), 4, False, id="rp-5xx-retries-to-count"),
        pytest.param("#rc=3&rp=5xx", (404,), 1, False, id="rp-5xx-not-4xx"),
        pytest.param("#rc=2&rp=4xx", (404, 200), 2, True, id="rp-4xx-then-success"),
        pytest.param("#rc=2&rp=rt", (httpx.ReadTimeout("t"),), 3, False, id="rp-rt-read-timeout"),
        pytest.param("#rc=2&rp=5xx", (refused(),), 1, False, id="rp-without-ct-no-connect-retry"),
        pytest.param("#rc=5&rp=all", (502,), 6, False, id="rp-all-max-count"),
        pytest.param("#rc=5&rp=all", (301,), 1, False, id="redirect-is-not-retried"),
    ],
)
def test_retries_follow_connection_policy(fragment: str, answers: tuple[int | Exception, ...], calls: int,
                                          succeeded: bool) -> None:
    outcome, seen = deliver(sequence(*answers), "https://h.example/cb" + fragment)
    assert len(seen) == calls
    assert [attempt.number for attempt in outcome.attempts] == list(range(1, calls + 1))
    assert outcome.ok is succeeded


def test_retries_carry_the_same_idempotency_token_and_signature() -> None:
    outcome, seen = deliver(sequence(500, 500, 200), "https://h.example/cb#rc=2&rp=5xx", idempotency_token="evt-7")
    assert [r.headers["I-Twilio-Idempotency-Token"] for r in seen] == ["evt-7"] * 3
    assert len({r.headers["X-Twilio-Signature"] for r in seen}) == 1
    assert [a.status_code for a in outcome.attempts] == [500, 500, 200]
    assert [a.error_code for a in outcome.attempts] == [11200, 11200, None]


def gaierror() -> httpx.ConnectError:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")
    return error


def tls_error() -> httpx.ConnectError:
    error = httpx.ConnectError("certificate verify failed")
    error.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    return error


@pytest.mark.parametrize(
    ("answer", "code", "status"),
    [
        pytest.param(refused(), 11205, None, id="connection-refused"),
        pytest.param(httpx.ConnectTimeout("t"), 11205, None, id="connect-timeout"),
        pytest.param(httpx.ReadTimeout("t"), 11205, None, id="read-timeout"),
        pytest.param(httpx.ReadError("reset"), 11205, None, id="connection-reset"),
        pytest.param(gaierror(), 11210, None, id="dns-failure"),
        pytest.param(tls_error(), 11220, None, id="tls-failure"),
        pytest.param(httpx.RemoteProtocolError("garbage"), 11200, None, id="protocol-error"),
        pytest.param(404, 11200, 404, id="http-404"),
        pytest.param(503, 11200, 503, id="http-503"),
    ],
)
def test_failures_map_to_twilio_error_codes(answer: int | Exception, code: int, status: int | None) -> None:
    outcome, _ = deliver(sequence(answer), "https://h.example/cb#rc=0")
    [attempt] = outcome.attempts
    assert not outcome.ok
    assert (attempt.error_code, attempt.status_code, outcome.status_code) == (code, status, status)
    assert attempt.error_message


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_success(status: int) -> None:
    outcome, _ = deliver(sequence(status), "https://h.example/cb")
    assert outcome.ok and outcome.status_code == status and outcome.attempts[0].error_code is None


def test_body_is_returned_whole_and_excerpt_is_first_2000_chars() -> None:
    body = "<Response>" + "ж" * 5000 + "</Response>"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body.encode("utf-8"), headers={"Content-Type": "text/html; charset=utf-8"})

    outcome, _ = deliver(handler, "https://h.example/in")
    assert outcome.body == body
    assert outcome.attempts[0].response_excerpt == body[:2000]
    assert outcome.content_type == outcome.attempts[0].content_type == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://h.example/x", id="unsupported-scheme"),
        pytest.param("http://[::1/x", id="broken-ipv6-host"),
        pytest.param("not a url", id="not-a-url"),
    ],
)
def test_unusable_url_becomes_failed_attempt_not_exception(url: str) -> None:
    outcome = asyncio.run(send_for_real(url))  # the real transport: MockTransport accepts any scheme
    assert not outcome.ok
    assert [a.error_code for a in outcome.attempts] == [11200]


def basic_protected(user: str, password: str) -> Handler:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="hooks"'})
        return ok(request)

    return handler


def test_basic_challenge_is_answered_after_an_unauthenticated_first_request() -> None:
    outcome, seen = deliver(basic_protected("alice", "s3cr:t"), "https://alice:s3cr%3At@h.example/cb")
    assert [r.headers.get("Authorization") for r in seen] == [
        None, "Basic " + base64.b64encode(b"alice:s3cr:t").decode()]
    assert all(r.url.userinfo == b"" for r in seen)
    assert outcome.ok
    assert [(a.number, a.url, a.status_code) for a in outcome.attempts] == [(1, "https://h.example/cb", 200)]
    assert RequestValidator(TOKEN).validate("https://h.example/cb", MultiParams(PARAMS),
                                            seen[1].headers["X-Twilio-Signature"])


def test_basic_challenge_is_not_counted_as_retry_and_retries_send_credentials() -> None:
    answers = iter([500, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        if "Authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="hooks"'})
        return httpx.Response(next(answers))

    outcome, seen = deliver(handler, "https://u:p@h.example/cb#rc=1&rp=5xx")
    assert [r.headers.get("Authorization") is not None for r in seen] == [False, True, True]
    assert [a.status_code for a in outcome.attempts] == [500, 200]
    assert outcome.ok


def test_wrong_credentials_leave_401_as_retrieval_failure() -> None:
    outcome, seen = deliver(basic_protected("alice", "right"), "https://alice:wrong@h.example/cb")
    assert len(seen) == 2
    assert [(a.status_code, a.error_code) for a in outcome.attempts] == [(401, 11200)]


def test_401_without_credentials_in_url_is_not_answered() -> None:
    outcome, seen = deliver(basic_protected("alice", "pw"), "https://h.example/cb")
    assert len(seen) == 1 and outcome.status_code == 401 and not outcome.ok


def digest_protected(user: str, password: str) -> Handler:
    realm, nonce = "hooks@example", "dcd98b7102dd2f0e8b11d0f600bfb0c093"

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    def handler(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization", "")
        if header.startswith("Digest "):
            fields = dict(item.strip().split("=", 1) for item in parse_http_list(header[len("Digest "):]))
            fields = {key: value.strip('"') for key, value in fields.items()}
            ha1 = md5(f"{fields['username']}:{realm}:{password}")
            ha2 = md5(f"{request.method}:{fields['uri']}")
            expected = md5(f"{ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
            if fields["username"] == user and fields["nonce"] == nonce and fields["response"] == expected:
                return ok(request)
        return httpx.Response(401, headers={
            "WWW-Authenticate": f'Digest realm="{realm}", qop="auth", nonce="{nonce}", opaque="5ccc", algorithm=MD5'})

    return handler


def test_digest_challenge_is_answered_with_digest_credentials() -> None:
    outcome, seen = deliver(digest_protected("bob", "pw"), "https://bob:pw@h.example/cb?x=1")
    assert "Authorization" not in seen[0].headers
    assert seen[1].headers["Authorization"].startswith("Digest ")
    assert 'username="bob"' in seen[1].headers["Authorization"]
    assert "pw" not in seen[1].headers["Authorization"].split("response=")[0]
    assert outcome.ok and len(outcome.attempts) == 1


def test_digest_with_wrong_password_fails_with_401() -> None:
    outcome, seen = deliver(digest_protected("bob", "pw"), "https://bob:nope@h.example/cb")
    assert len(seen) == 2 and outcome.status_code == 401 and not outcome.ok


def test_digest_is_preferred_when_both_schemes_are_offered() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization", "").startswith("Digest "):
            return ok(request)
        return httpx.Response(401, headers=[("WWW-Authenticate", 'Basic realm="r"'),
                                            ("WWW-Authenticate", 'Digest realm="r", nonce="n"')])

    outcome, seen = deliver(handler, "https://u:p@h.example/cb")
    assert outcome.ok and len(seen) == 2


def test_malformed_digest_challenge_leaves_401() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Digest realm="r"'})  # no nonce

    outcome, seen = deliver(handler, "https://u:p@h.example/cb")
    assert len(seen) == 1 and outcome.status_code == 401 and outcome.attempts[0].error_code == 11200


def test_token_and_url_credentials_never_appear_in_outcome() -> None:
    outcome, _ = deliver(basic_protected("alice", "hunter2-secret"), "https://alice:hunter2-secret@h.example/cb")
    outcome_wrong, _ = deliver(sequence(refused()), "https://alice:hunter2-secret@h.example/cb")
    for text in (repr(outcome), repr(outcome_wrong)):
        assert "hunter2-secret" not in text and TOKEN not in text and "alice" not in text


def test_total_timeout_bounds_all_attempts() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return ok(request)

    started = time.monotonic()
    outcome, seen = deliver(hang, "https://h.example/cb#tt=300&rt=15000&rc=5&rp=all")
    assert time.monotonic() - started < 5
    assert len(seen) == 1
    assert [a.error_code for a in outcome.attempts] == [11205]
    assert "total" in (outcome.attempts[0].error_message or "")


# Real sockets on 127.0.0.1.


def test_read_timeout_against_real_server_fails_fast_with_11205() -> None:
    async def go() -> Outcome:
        release = asyncio.Event()
        writers: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            await reader.readuntil(b"\r\n\r\n")
            await release.wait()  # read the request, never answer

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await send_for_real(f"http://127.0.0.1:{port}/slow#rt=200&rc=0")
        finally:
            release.set()
            for writer in writers:
                writer.close()
                await writer.wait_closed()
            server.close()
            await server.wait_closed()

    started = time.monotonic()
    outcome = asyncio.run(go())
    assert time.monotonic() - started < 5
    [attempt] = outcome.attempts
    assert (attempt.error_code, attempt.status_code) == (11205, None)
    assert "read timeout" in (attempt.error_message or "")


def test_connection_refused_on_closed_port_is_11205_and_retried_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    outcome = asyncio.run(send_for_real(f"http://127.0.0.1:{port}/cb"))
    assert not outcome.ok
    assert [(a.number, a.error_code, a.status_code) for a in outcome.attempts] == [(1, 11205, None), (2, 11205, None)]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _self_signed_tls() -> ssl.SSLContext:
    """A server context whose certificate (for 127.0.0.1) no client trusts."""
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = self_signed(Path(folder))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
    return context


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request, then reset the connection without a word."""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        await reader.readuntil(b"\r\n\r\n")
    writer.transport.abort()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
    writer.close()


async def _http_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer plain HTTP before reading anything (what a TLS client's hello gets from a plain server)."""
    with contextlib.suppress(ConnectionError):
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def _serving(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                   tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@contextlib.asynccontextmanager
async def _never_accepting() -> AsyncIterator[int]:
    """A port whose listener never accepts and whose queue is full: a connection attempt gets no answer."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
            await asyncio.sleep(0.1)
            yield port
        finally:
            for filler in fillers:
                filler.close()


@contextlib.asynccontextmanager
async def _nothing() -> AsyncIterator[int]:
    yield _closed_port()


# (scheme, where the port comes from, URL fragment, guard's deny list, error code, the sentence; {port} filled in)
_FAILURES = [
    pytest.param("http", _nothing, "", "", 11205, "connection refused by 127.0.0.1:{port}", id="refused"),
    pytest.param("http", _never_accepting, "ct=300", "", 11205, "no connection to 127.0.0.1:{port} within 0.3 s",
                 id="connect-timeout"),
    pytest.param("http", lambda: _serving(_hang_up), "", "", 11205,
                 "connection reset by 127.0.0.1:{port} before it answered", id="reset"),
    pytest.param("http", lambda: _serving(_not_http), "", "", 11200,
                 "127.0.0.1:{port} answered something that is not valid HTTP", id="not-http"),
    pytest.param("https", lambda: _serving(_hang_up, _self_signed_tls()), "", "", 11220,
                 "TLS handshake with 127.0.0.1:{port} failed: certificate verify failed: self-signed certificate",
                 id="tls-untrusted-certificate"),
    pytest.param("https", lambda: _serving(_http_at_once), "", "", 11220,
                 "TLS handshake with 127.0.0.1:{port} failed: wrong version number", id="tls-to-a-plain-server"),
    pytest.param("http", _nothing, "", "loopback", 11200,
                 "127.0.0.1:{port} is denied by the outbound guard (LOFT_OUTBOUND_DENY); nothing was sent",
                 id="denied-by-the-outbound-guard"),
]


@pytest.mark.parametrize(("scheme", "where", "fragment", "deny", "code", "sentence"), _FAILURES)
def test_a_transport_failure_is_one_short_sentence_naming_the_other_end(
        scheme: str, where: Callable[[], contextlib.AbstractAsyncContextManager[int]], fragment: str, deny: str,
        code: int, sentence: str) -> None:
    async def go() -> tuple[Outcome, int]:
        async with where() as port:
            url = f"{scheme}://127.0.0.1:{port}/cb#rc=0" + (f"&{fragment}" if fragment else "")
            return await send_for_real(url, deny=deny), port

    outcome, port = asyncio.run(go())
    [attempt] = outcome.attempts
    assert (attempt.error_code, attempt.error_message) == (code, sentence.format(port=port))


def test_a_host_name_that_does_not_resolve_is_11210_in_one_sentence() -> None:
    outcome = asyncio.run(send_for_real("http://no-such-host.invalid/cb#rc=0"))
    [attempt] = outcome.attempts
    assert (attempt.error_code, attempt.error_message) == (11210, "the host name no-such-host.invalid does not resolve")


def test_basic_auth_against_real_receiver() -> None:
    receiver = receivers.start()
    try:
        receiver.answer("/hook", receivers.Answer(basic_auth=("carol", "pw"), body="<Response/>"))
        url = receiver.url("/hook").replace("http://", "http://carol:pw@") + "?q=1"

        async def go() -> Outcome:
            async with outbound.client(outbound.Guard.of("")) as client:
                return await send(client, WebhookRequest(url=url, method="POST", params=PARAMS, auth_token=TOKEN,
                                                         idempotency_token="t", expect_twiml=True))

        outcome = asyncio.run(go())
        first, second = receiver.to("/hook")
        assert "authorization" not in first.headers
        assert second.headers["authorization"] == "Basic " + base64.b64encode(b"carol:pw").decode()
        assert second.form == PARAMS
        assert RequestValidator(TOKEN).validate(receiver.url("/hook?q=1"), MultiParams(second.form),
                                                second.headers["x-twilio-signature"])
        assert outcome.ok and outcome.body == "<Response/>" and outcome.content_type == "text/xml"
    finally:
        receiver.close()


async def _raw_server(status: int, content_type: str | None, body: bytes,
                      seen: list[tuple[bytes, bytes]]) -> asyncio.Server:
    """Answers every request with the given status, type and body (keep-alive); records head and body."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                seen.append((head, await reader.readexactly(length)))
                typed = f"Content-Type: {content_type}\r\n" if content_type else ""
                writer.write(f"HTTP/1.1 {status} Whatever\r\nContent-Length: {len(body)}\r\n{typed}\r\n".encode()
                             + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize(("status", "content_type", "body"), [
    pytest.param(200, "text/xml", b"<Response/>", id="ok"),
    pytest.param(503, "text/plain; charset=utf-8", "d\u00e9j\u00e0 occup\u00e9".encode(), id="5xx-retried"),
    pytest.param(200, "text/plain; charset=iso-8859-1", "\u00e9".encode("latin-1") * (sender.MAX_BODY + 10),
                 id="long-latin-1"),
    pytest.param(302, None, b"", id="redirect-not-followed"),
])
def test_a_real_exchange_matches_what_the_httpx_path_makes_of_the_same_answer(
        status: int, content_type: str | None, body: bytes) -> None:
    """Without credentials in the URL, webhooks go straight through aiohttp's session (sender._straight); with
    them, through httpx's client. Both must make the same outcome of the same answer."""
    seen: list[tuple[bytes, bytes]] = []

    async def go() -> Outcome:
        server = await _raw_server(status, content_type, body, seen)
        port = server.sockets[0].getsockname()[1]
        try:
            return await send_for_real(f"http://127.0.0.1:{port}/cb?x=1#rc=1&rp=5xx", idempotency_token="idem-1")
        finally:
            server.close()
            await server.wait_closed()

    real = asyncio.run(go())
    headers = {"Content-Type": content_type} if content_type else {}
    mocked, _ = deliver(lambda request: httpx.Response(status, content=body, headers=headers),
                        "https://h.example/cb?x=1#rc=1&rp=5xx")
    assert [(a.number, a.status_code, a.error_code, a.content_type, a.response_excerpt) for a in real.attempts] \
        == [(a.number, a.status_code, a.error_code, a.content_type, a.response_excerpt) for a in mocked.attempts]
    assert (real.ok, real.status_code, real.body, real.content_type) \
        == (mocked.ok, mocked.status_code, mocked.body, mocked.content_type)
    charset = content_type.split("charset=")[1] if content_type and "charset=" in content_type else "utf-8"
    assert real.body == body[: sender.MAX_BODY].decode(charset)  # read up to MAX_BODY, in the declared charset
    head, form = seen[0]
    fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line)
    assert head.startswith(b"POST /cb?x=1 HTTP/1.1\r\n")
    assert fields["User-Agent"] == "TwilioProxy/1.1"
    assert fields["I-Twilio-Idempotency-Token"] == "idem-1"
    assert fields["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(form.decode(), keep_blank_values=True) == PARAMS
    url = f"http://127.0.0.1:{fields['Host'].split(':')[1]}/cb?x=1"
    assert RequestValidator(TOKEN).validate(url, MultiParams(PARAMS), fields["X-Twilio-Signature"])
