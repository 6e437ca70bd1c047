"""How ``loft serve`` meets its connections: uvicorn's HTTP protocol (httptools), with limits on what a client may
hold, and each response in one write.

**Limits, before the application runs.** uvicorn's httptools protocol bounds neither a request's head nor the
time a client takes to send it (its keep-alive timeout starts only after a first answer), nor how many
connections are open. :class:`LoftHttpProtocol` adds, per :class:`Limits` (``LOFT_*`` settings):

- the head (request line and headers): its bytes are counted as they arrive, and past ``max_header_bytes`` (or
  with more than ``max_headers`` headers) the request is answered 431 and the connection closed; what is kept of
  a head is never much more than the limit (one read, at most).
- time: a client has ``request_timeout`` seconds to send a whole request (head and body) from the moment its
  connection opens or its previous answer has been sent. A connection that sends nothing, or drips its request,
  is closed: with a 408 when it had begun one. Time during which the server itself is not reading (the
  application has not yet asked for more of the body) does not count against the client. One timer per
  connection, re-armed at most once per period: a request costs three attribute writes, no timer of its own.
- connections: past ``max_connections`` open in this process, a new connection is answered 429 (Twilio's 20429,
  "too many concurrent requests") and closed, and one line is logged when the cap is reached and one when
  connections are accepted again, with how many were refused meanwhile (not one per connection).

These answers are Twilio's JSON error bodies (no application has seen the request, so no ``.xml`` is honoured).
The body's size and the request's parameters are bounded by the application's outermost layer
(:mod:`loft.kit.limits`), which every server running it applies.

**One write per answer.** uvicorn writes a response's status line and headers when the application sends
``http.response.start``, and its body when it sends ``http.response.body``: two calls to the kernel, and two TCP
segments for the client to take in, for an answer of a few hundred bytes (with two processes, one write per
answer gives 13 % more creates a second: a paired A/B of ``wrk`` runs, CHANGELOG). Here the writes made to a
connection during one turn of the event loop are joined and handed to the socket at the end of that turn, in
order: what an answer sends at once leaves at once, and a large body (more than ``_HOLD_AT`` bytes in one turn)
is not held at all.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from loft.config import Settings
from loft.errors import TwilioApiError

log = logging.getLogger("loft.serving")

#: Bytes of one turn's writes past which they go to the socket at once (its own flow control takes over).
_HOLD_AT = 64 * 1024


class TurnWrites:
    """A transport whose writes of one turn of ``loop`` reach ``transport`` as one write at the end of the turn;
    everything else is the transport's own. Closing (or ending the stream) first hands over what is held."""

    __slots__ = ("_transport", "_loop", "_held", "_size")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= _HOLD_AT:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Hand what is held to the transport (a transport closing meanwhile drops it, as it would its buffer)."""
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def is_closing(self) -> bool:
        # (asked after every response: through ``__getattr__``, each ask would first make and drop an
        # ``AttributeError``, its message formatted)
        return self._transport.is_closing()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def writes_access_lines(log_level: str) -> bool:
    """Whether uvicorn's access lines (level INFO) are written at ``log_level`` (``LOFT_LOG_LEVEL``): when they are
    not, uvicorn is told not to make them (it computes each line's arguments, the path and the client's address,
    before its logger drops the line)."""
    return log_level in ("info", "debug", "trace")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection may hold (see the module's docstring); the defaults are the settings' own."""

    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    request_timeout: float = 30.0
    max_connections: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(max_header_bytes=settings.max_header_bytes, max_headers=settings.max_headers,
                   request_timeout=settings.request_timeout_seconds, max_connections=settings.max_connections)


class _Crowding:
    """Whether a process is refusing connections, and how many it has refused since it began to."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused = 0


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request that is answered with ``error`` instead."""

    def __init__(self, error: TwilioApiError) -> None:
        super().__init__(error.message)
        self.error = error


# uvicorn's and httptools' internals: LoftHttpProtocol is the one place in Loft that touches them ---------------


class LoftHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`TurnWrites` transport, within :class:`Limits` (use
    :func:`protocol` for a class with limits of its own).

    **Private uses** (see :mod:`loft.adapters`), checked against uvicorn 0.55.0 and httptools 0.9.0 (pins in
    pyproject.toml; tests/test_adapters.py exercises each on the real libraries). uvicorn documents that
    ``Config(http=...)`` takes a protocol class, not what the class it ships is made of:

    - the class ``uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`` and its constructor
      ``(config, server_state, app_state, _loop=None)``;
    - its state, read: ``connections`` (the server's set of open protocols), ``loop``, ``transport``, ``parser``,
      ``headers`` and ``url`` (of the head being parsed), ``pipeline`` (requests read ahead), ``flow.read_paused``,
      ``logger``, and ``cycle`` with its ``response_started``, ``response_complete``, ``disconnected`` and
      ``message_event`` (set to end the application's wait for more of the body);
    - its methods, called: ``_unset_keepalive_if_required``, ``_should_upgrade``, ``handle_websocket_upgrade``,
      ``_unsupported_upgrade_warning``, ``send_400_response``;
    - its methods, overridden and each calling uvicorn's: ``connection_made`` (with a :class:`TurnWrites` for
      the transport: uvicorn writes only through ``write``, and reaches the rest through attributes that
      :class:`TurnWrites` passes on), ``connection_lost``, ``on_message_begin``, ``on_headers_complete``,
      ``on_message_complete``, ``on_response_complete``;
    - ``data_received``: a copy of uvicorn's with the head's bytes counted and refused requests answered (the test
      compares uvicorn's own with the version copied, so that a change there is seen);
    - httptools: an exception raised in a parser callback leaves ``feed_data`` as ``HttpParserCallbackError`` with
      the callback's exception as its ``__context__`` (how :class:`_Refused` gets through the parser).
    """

    limits: ClassVar[Limits] = Limits()
    crowding: ClassVar[_Crowding] = _Crowding()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Turned away at connection_made (too many connections): nothing else happens on it.
        self._refused = False
        #: Reading a request's head (or waiting for one), and how many bytes have come in for it.
        self._in_head = True
        self._head_bytes = 0
        #: Since when the client has owed the server (the rest of) a request; None while it owes nothing.
        self._owing_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        limits, crowding = self.limits, self.crowding
        if len(self.connections) >= limits.max_connections:
            self._refused = True
            if not crowding.refused:
                log.warning("%d connections are open (LOFT_MAX_CONNECTIONS): refusing new ones until some close",
                            len(self.connections))
            crowding.refused += 1
            transport.write(_answer(TwilioApiError(
                20429, "Too many connections are open to this server; try again later", 429)))
            transport.close()
            return
        if crowding.refused:
            log.warning("accepting connections again (%d were refused)", crowding.refused)
            crowding.refused = 0
        super().connection_made(TurnWrites(transport, self.loop))  # type: ignore[arg-type]
        self._owing_since = self.loop.time()
        self._timer = self.loop.call_later(limits.request_timeout, self._check_time)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """uvicorn's, counting a head's bytes as they arrive and answering a refused request."""
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refused):
                self._refuse(exc.__context__.error)
            else:
                self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head and self._head_bytes > self.limits.max_header_bytes:
            self._refuse(_head_too_large(self.limits))

    def _invalid(self) -> None:
        msg = "Invalid HTTP request received."
        self.logger.warning(msg)
        self.send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._owing_since is None:  # (a request pipelined after one read whole)
            self._owing_since = self.loop.time()

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            raise _Refused(TwilioApiError(20001, f"The request has more than {limits.max_headers} headers", 431))
        # The bytes counted may include some of the body: count the head's own when they pass the limit.
        if self._head_bytes > limits.max_header_bytes and _head_size(self.url, self.headers) > limits.max_header_bytes:
            raise _Refused(_head_too_large(limits))
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._owing_since = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline:
            self._owing_since = self.loop.time()

    def _check_time(self) -> None:
        """The connection's timer: close it if the client has owed a request for ``request_timeout`` seconds."""
        self._timer = None
        if self.transport.is_closing():
            return
        timeout = self.limits.request_timeout
        now = self.loop.time()
        since = self._owing_since
        if since is not None and self.flow.read_paused:  # the server is not reading: not the client's delay
            self._owing_since = since = now
        if since is not None and now - since >= timeout:
            self._time_out()
            return
        self._timer = self.loop.call_later(timeout if since is None else since + timeout - now, self._check_time)

    def _time_out(self) -> None:
        cycle = self.cycle
        awaiting_body = cycle is not None and not cycle.response_complete
        if awaiting_body and cycle.response_started:
            self.transport.close()
        elif awaiting_body or self._head_bytes:
            self._refuse(TwilioApiError(
                20001, f"The request was not received within {self.limits.request_timeout:g} seconds", 408))
        else:
            self.transport.close()  # an idle connection: nothing to answer

    def _refuse(self, error: TwilioApiError) -> None:
        """Answer ``error`` on this connection and close it (the request, if any, reads no more)."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the application, if it runs, answers no one
            self.cycle.message_event.set()
        self.transport.write(_answer(error))
        self.transport.close()


# (end of uvicorn's internals) -------------------------------------------------------------------------------


def protocol(limits: Limits) -> type[LoftHttpProtocol]:
    """:class:`LoftHttpProtocol` bound by ``limits``, for one server (connections are counted per server)."""
    return type("LoftHttpProtocol", (LoftHttpProtocol,), {"limits": limits, "crowding": _Crowding()})


def _head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


def _head_too_large(limits: Limits) -> TwilioApiError:
    return TwilioApiError(20001, f"The request's headers are larger than {limits.max_header_bytes} bytes", 431)


def _answer(error: TwilioApiError) -> bytes:
    """A whole HTTP response carrying ``error`` as Twilio's JSON error body, closing the connection."""
    body = orjson.dumps(error.body())
    return (f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n"
            f"content-type: application/json; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n").encode() + body


#: File descriptors kept for what is not a client's connection: the database, its log, pipes to other
#: processes, outgoing webhook connections (besides one per concurrent job).
_RESERVED_FILES = 256


def fit_file_limit(settings: Settings) -> int:
    """The connection cap this process can keep: ``LOFT_MAX_CONNECTIONS``, with the open-file limit raised (up to
    its hard limit) to leave room beside it for the database and outgoing connections; lower, with a warning, if
    that room cannot be had (connections that took every descriptor would leave none to write the database)."""
    wanted = settings.max_connections
    needed = wanted + settings.worker_concurrency + _RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        cap = max(1, soft - settings.worker_concurrency - _RESERVED_FILES)
        log.warning("the open-file limit (%d) leaves room for %d connections, not LOFT_MAX_CONNECTIONS=%d", soft,
                    cap, wanted)
        return cap
    return wanted
