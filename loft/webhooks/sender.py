"""Send one webhook the way Twilio does: signed, with connection overrides, HTTP auth challenges and retries.

``send(client, request)`` never raises for network problems: every try becomes an :class:`Attempt`, and the
:class:`Outcome` says whether the last one got a 2xx.

- The URL's fragment is the :mod:`~loft.webhooks.overrides` policy (timeouts, retries); it is never sent.
- ``user:pass@`` in the URL is never sent either. The first request carries no ``Authorization``; a ``401``
  whose ``WWW-Authenticate`` offers Digest (preferred) or Basic is answered once with the credentials, and later
  retries of the same webhook answer the learned scheme at once. The challenge and its answer are one attempt.
- Loft's choice, unverified against Twilio: the signature covers the URL as sent — without userinfo and
  fragment; for GET with the parameters appended to the query (and no form parameters), for POST the URL plus
  the form parameters. The URL is signed as configured; the HTTP client may normalise it on the wire
  (``https://h`` is requested as ``/``), as Twilio's own URLs are, and receivers validate what they rebuild.
- Retries: up to ``retry_count`` more attempts, immediately, while the failure's class is in ``retry_on``:
  ``ct`` (connection refused, connect timeout, DNS or TLS failure), ``rt`` (read or write timeout), ``4xx``,
  ``5xx``. All attempts share the ``total_timeout`` budget. Redirects are not followed (a 3xx is a failure).
- Error codes, as Twilio's debugger logs them: 11200 HTTP retrieval failure (a non-2xx answer, an unusable
  URL, a protocol error), 11205 HTTP connection failure (refused, reset, connect/read/write timeout, the total
  budget spent), 11210 HTTP bad host name (the host does not resolve), 11220 SSL/TLS handshake error. 11210
  and 11220 are from Twilio's error dictionary; which of them Twilio logs for these cases is Loft's reading.
  The attempt's message is one short sentence naming the other end, e.g. ``connection refused by
  127.0.0.1:8000``, ``no connection to hooks.example.com:443 within 5 s``, ``the host name hooks.example
  does not resolve``, ``TLS handshake with hooks.example.com:443 failed: certificate verify failed: …``;
  never an exception's text (it is what the console and ``loft tail`` show).
- Every connection passes the outbound guard (:mod:`loft.outbound`): a URL whose address ``LOFT_OUTBOUND_DENY``
  denies fails with 11200, having sent nothing and read nothing.
- Bodies are read up to :data:`MAX_BODY` bytes; the rest is dropped. Neither the auth token nor the URL's
  credentials reach a log, an attempt or an error message (the URL given to the HTTP client carries none).
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import socket
import ssl
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlencode, urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from loft import outbound
from loft.adapters import httpclient
from loft.outbound import USER_AGENT
from loft.webhooks import overrides, signing
from loft.webhooks.overrides import ConnectionPolicy

MAX_BODY = 1024 * 1024
EXCERPT = 2000
FORM = "application/x-www-form-urlencoded"

RETRIEVAL_FAILURE = 11200
CONNECTION_FAILURE = 11205
BAD_HOST = 11210
TLS_FAILURE = 11220


@dataclass(frozen=True)
class WebhookRequest:
    url: str  # as configured, possibly with user:pass@ and a #fragment
    method: Literal["GET", "POST"]
    params: list[tuple[str, str]]  # form fields (POST) or query parameters (GET, appended to the URL's query)
    auth_token: str  # signs X-Twilio-Signature
    idempotency_token: str  # I-Twilio-Idempotency-Token, the same on every retry
    expect_twiml: bool = False  # inbound-message webhooks; the sender returns body and content type as-is
    #: A JSON body to POST instead of the form (Bot Framework Activities: loft/bots), unsigned, with ``headers``;
    #: ``params`` are then only what the attempt log shows.
    json: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Attempt:
    number: int
    url: str  # as requested: without credentials and fragment, with a GET's parameters
    method: str
    status_code: int | None
    latency_ms: int
    response_excerpt: str  # the first EXCERPT characters of the body, '' if none
    content_type: str | None
    error_code: int | None  # None on success
    error_message: str | None


@dataclass(frozen=True)
class Outcome:
    attempts: list[Attempt]
    ok: bool
    status_code: int | None
    body: str
    content_type: str | None


@dataclass(frozen=True)
class _Target:
    url: str  # as sent and signed
    credentials: tuple[str, str] | None
    policy: ConnectionPolicy


@dataclass(frozen=True)
class _Result:
    status_code: int | None = None
    body: str = ""
    content_type: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    retry_class: str | None = None


def _strip_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """Split ``user:pass@`` off the authority; plain string work, so the rest of the URL stays as configured."""
    scheme, separator, rest = url.partition("://")
    end = min([index for index in (rest.find("/"), rest.find("?")) if index >= 0] + [len(rest)])
    if not separator or "@" not in rest[:end]:
        return url, None
    userinfo, _, host = rest[:end].rpartition("@")
    user, _, password = userinfo.partition(":")
    return scheme + separator + host + rest[end:], (unquote(user), unquote(password))


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    if not params:
        return url
    joiner = "" if url.endswith(("?", "&")) else "&" if "?" in url else "?"
    return url + joiner + urlencode(params)


def _target(request: WebhookRequest) -> _Target:
    url, policy = overrides.parse(request.url)
    url, credentials = _strip_userinfo(url)
    if request.method == "GET":
        url = _with_query(url, request.params)
    return _Target(url, credentials, policy)


class _ChallengeAuth(httpx.Auth):
    """Send without credentials; answer a 401's Digest or Basic challenge once, then keep using that scheme."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)
        self._chosen: httpx.Auth | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._chosen is not None:
            yield from self._chosen.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        schemes = {value.split(" ", 1)[0].lower() for value in response.headers.get_list("www-authenticate")}
        if "digest" in schemes:
            flow = self._digest.auth_flow(request)
            next(flow)
            try:
                answered = flow.send(response)
            except (StopIteration, httpx.ProtocolError, KeyError, ValueError):
                return  # a malformed or unsupported challenge: the 401 stands
            self._chosen = self._digest
            yield answered
        elif "basic" in schemes:
            self._chosen = self._basic
            yield from self._basic.auth_flow(request)


def _codec(charset: str | None) -> str:
    try:
        return codecs.lookup(charset or "utf-8").name
    except LookupError:
        return "utf-8"


async def _read(response: httpx.Response) -> str:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk[: MAX_BODY - len(data)]
        if len(data) >= MAX_BODY:
            break
    return data.decode(_codec(response.charset_encoding), errors="replace")


def _answer(status: int, content_type: str | None, body: str) -> _Result:
    if 200 <= status < 300:
        return _Result(status, body, content_type)
    retry_class = "4xx" if 400 <= status < 500 else "5xx" if 500 <= status < 600 else None
    return _Result(status, body, content_type, RETRIEVAL_FAILURE,
                   f"HTTP retrieval failure: the URL answered {status}", retry_class)


def _peer(url: str) -> tuple[str, str]:
    """The other end of ``url`` as a person names it: its host, and host and port (``127.0.0.1:8000``)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        host, port = None, None
    if not host:
        return "the URL's host", "the URL's host"
    named = f"[{host}]" if ":" in host else host
    return host, f"{named}:{port}" if port else named


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it: httpx wraps aiohttp's errors, which wrap the operating system's."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8 and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _failure(exc: Exception, url: str, policy: ConnectionPolicy) -> _Result:
    """A transport failure as Twilio's error code and one short sentence naming the other end.

    Judged by the deepest cause that says what happened (httpx_aiohttp maps most of aiohttp's connection errors,
    a refused connection included, to ``httpx.ConnectTimeout``)."""
    host, peer = _peer(url)
    causes = _causes(exc)

    def cause(*kinds: type[BaseException]) -> BaseException | None:
        return next((found for found in causes if isinstance(found, kinds)), None)

    def fail(code: int, message: str, retry_class: str | None = None) -> _Result:
        return _Result(error_code=code, error_message=message, retry_class=retry_class)

    if outbound.denied(exc):
        return fail(RETRIEVAL_FAILURE, f"{peer} is denied by the outbound guard (LOFT_OUTBOUND_DENY); nothing was sent")
    tls = cause(ssl.SSLError, ssl.CertificateError, aiohttp.ClientSSLError)
    if tls is not None:
        return fail(TLS_FAILURE, f"TLS handshake with {peer} failed: {_tls_reason(tls)}", "ct")
    if cause(socket.gaierror, aiohttp.ClientConnectorDNSError) is not None:
        return fail(BAD_HOST, f"the host name {host} does not resolve", "ct")
    if cause(ConnectionRefusedError) is not None:
        return fail(CONNECTION_FAILURE, f"connection refused by {peer}", "ct")
    if cause(ConnectionResetError, ConnectionAbortedError, BrokenPipeError, aiohttp.ServerDisconnectedError):
        return fail(CONNECTION_FAILURE, f"connection reset by {peer} before it answered")
    if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ClientError):  # asyncio's, at the deadline
        return fail(CONNECTION_FAILURE, f"no complete answer from {peer} within the total timeout of "
                                        f"{policy.total_timeout:g} s")
    if cause(aiohttp.SocketTimeoutError, httpx.ReadTimeout, httpx.WriteTimeout) is not None:
        return fail(CONNECTION_FAILURE, f"{peer} did not answer within the read timeout of {policy.read_timeout:g} s",
                    "rt")
    if cause(aiohttp.ConnectionTimeoutError) is not None or (
            isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)) and cause(aiohttp.ClientError) is None):
        return fail(CONNECTION_FAILURE, f"no connection to {peer} within {policy.connect_timeout:g} s", "ct")
    broken = cause(aiohttp.ClientConnectorError, httpx.ConnectError)
    if broken is not None:
        reason = cause(OSError)
        detail = f": {reason.strerror}" if isinstance(reason, OSError) and reason.strerror else ""
        return fail(CONNECTION_FAILURE, f"cannot connect to {peer}{detail}", "ct")
    if cause(httpx.RemoteProtocolError, aiohttp.ClientResponseError, aiohttp.ClientPayloadError) is not None:
        return fail(RETRIEVAL_FAILURE, f"{peer} answered something that is not valid HTTP")
    if cause(httpx.ReadError, httpx.WriteError, httpx.CloseError, aiohttp.ClientOSError) is not None:
        return fail(CONNECTION_FAILURE, f"the connection to {peer} broke before it answered")
    if cause(httpx.UnsupportedProtocol, httpx.InvalidURL, aiohttp.InvalidURL, ValueError) is not None:
        return fail(RETRIEVAL_FAILURE, "the URL cannot be used")
    return fail(RETRIEVAL_FAILURE, f"no usable answer from {peer} ({type(exc).__name__})")


def _tls_reason(error: BaseException) -> str:
    """What went wrong in a handshake, briefly: ``certificate verify failed: self-signed certificate``.

    aiohttp's certificate error is an :class:`ssl.CertificateError` itself, without the details: they are on
    the :mod:`ssl` error that caused it."""
    for found in _causes(error):
        if isinstance(found, aiohttp.ClientError):
            continue
        verify = getattr(found, "verify_message", None)
        if verify:
            return f"certificate verify failed: {verify}"
        reason = getattr(found, "reason", None)
        if isinstance(found, ssl.SSLError) and isinstance(reason, str) and reason:
            return reason.replace("_", " ").lower()
        if isinstance(found, ssl.CertificateError):
            return str(found)
    return "the handshake did not complete"


@dataclass(frozen=True, slots=True)
class _Built:
    """One try of a webhook, ready to go out through httpx or straight through aiohttp."""

    method: str
    url: str  # as signed
    headers: dict[str, str]
    content: bytes | None
    policy: ConnectionPolicy

    def for_httpx(self) -> httpx.Request:
        # Built directly rather than with client.build_request (which merges client defaults and cookies this
        # request has none of, at twice the cost).
        return httpx.Request(self.method, self.url, headers=self.headers, content=self.content,
                             extensions={"timeout": dict(_timeouts(self.policy))})


def _build(request: WebhookRequest, target: _Target) -> _Built:
    if request.json is not None:
        headers = {"I-Twilio-Idempotency-Token": request.idempotency_token, "User-Agent": USER_AGENT,
                   "Accept": "*/*", "Content-Type": "application/json", **dict(request.headers)}
        return _Built("POST", target.url, headers, request.json.encode("utf-8"), target.policy)
    signed_params = request.params if request.method == "POST" else []
    headers = {
        signing.HEADER: signing.signature(request.auth_token, target.url, signed_params),
        "I-Twilio-Idempotency-Token": request.idempotency_token,
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
    }
    content: bytes | None = None
    if request.method == "POST":
        headers["Content-Type"] = FORM
        content = urlencode(request.params).encode("ascii")
    return _Built(request.method, target.url, headers, content, target.policy)


@functools.lru_cache(maxsize=256)
def _timeouts(policy: ConnectionPolicy) -> dict[str, float | None]:
    return httpx.Timeout(connect=policy.connect_timeout, read=policy.read_timeout, write=policy.read_timeout,
                         pool=policy.connect_timeout).as_dict()


@functools.lru_cache(maxsize=256)
def _aiohttp_timeout(policy: ConnectionPolicy) -> aiohttp.ClientTimeout:
    """What :class:`AiohttpTransport` makes of :func:`_timeouts`."""
    return httpclient.aiohttp_timeout(_timeouts(policy))


async def _exchange(client: httpx.AsyncClient, built: _Built, auth: httpx.Auth | None,
                    deadline: float) -> _Result:
    try:
        async with asyncio.timeout_at(deadline):
            transport = outbound.transport(client) if auth is None else None
            if isinstance(transport, AiohttpTransport):
                return await _straight(transport, built)
            request = built.for_httpx()
            if transport is not None:
                response = await transport.handle_async_request(request)
            else:
                response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
            try:
                return _answer(response.status_code, response.headers.get("content-type"),
                               await _read(response))
            finally:
                await response.aclose()
    except (httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        return _failure(exc, built.url, built.policy)


async def _straight(transport: AiohttpTransport, built: _Built) -> _Result:
    """A webhook without credentials, straight on the aiohttp session under the client's transport.

    httpx's client (auth, redirects, cookies) has nothing to do for it, and building httpx's request and
    response around aiohttp's cost as much as the exchange itself (status callbacks: two per message).
    aiohttp's errors become httpx's exactly as the transport makes them (:mod:`loft.adapters.httpclient`).
    """
    session = httpclient.session_of(transport)
    with httpclient.errors_as_httpx():
        async with session.request(built.method, built.url, headers=built.headers, data=built.content,
                                            allow_redirects=False, compress=False,
                                            timeout=_aiohttp_timeout(built.policy)) as response:
            data = bytearray()
            while len(data) < MAX_BODY:
                chunk = await response.content.read(MAX_BODY - len(data))
                if not chunk:
                    break
                data += chunk
            return _answer(response.status, response.headers.get("Content-Type"),
                           data.decode(_codec(response.charset), errors="replace"))


async def send(client: httpx.AsyncClient, request: WebhookRequest) -> Outcome:
    loop = asyncio.get_running_loop()
    started = loop.time()
    target = _target(request)
    deadline = started + target.policy.total_timeout
    auth = _ChallengeAuth(*target.credentials) if target.credentials else None
    attempts: list[Attempt] = []
    result = _Result()
    for number in range(1, target.policy.retry_count + 2):
        began = time.monotonic()
        result = await _exchange(client, _build(request, target), auth, deadline)
        attempts.append(Attempt(
            number=number, url=target.url, method=request.method, status_code=result.status_code,
            latency_ms=round((time.monotonic() - began) * 1000), response_excerpt=result.body[:EXCERPT],
            content_type=result.content_type, error_code=result.error_code, error_message=result.error_message,
        ))
        if result.retry_class not in target.policy.retry_on or loop.time() >= deadline:
            break
    return Outcome(attempts=attempts, ok=result.error_code is None, status_code=result.status_code,
                   body=result.body, content_type=result.content_type)
