"""What a request may be, checked before any work is done for it: the size of its body, and no NUL in its path or
query string. :func:`check` is the first thing :class:`loft.front.Front`, the layer every request passes, does, so
every route (the API, the busy ``POST …/Messages``, the console, the simulator) is covered in this one place.

- A ``Content-Length`` over the limit is answered 413 at once, with ``Connection: close``: the application
  never starts, and the server reads no more of the body than it had buffered (uvicorn pauses reading at
  64 KiB until the application asks for more).
- A chunked body (no ``Content-Length``) is counted as the application reads it (:class:`Counted`); the read
  that passes the limit raises a 413 (answered by the application's error handlers, as any
  ``TwilioApiError``) and the connection is closed after the answer, the rest of the body unread.
- A NUL character in the path (``%00``, decoded) or the query string answers 400 naming the parameter:
  PostgreSQL refuses NUL in text where SQLite stores it; both refuse it here, before any database sees it.

Answers are Twilio's error bodies, in XML for 2010-04-01 paths without ``.json``, as the application's own.
The headers, their size and number, and the time a client takes to send them are the HTTP server's to bound
(:mod:`loft.serving`).

Per request this costs a look at the headers for ``Content-Length`` and ``Transfer-Encoding`` and two
substring searches; only chunked requests get their ``receive`` and ``send`` wrapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from loft.errors import InvalidParameter, TwilioApiError
from loft.kit import forms, render


def too_large(limit: int) -> TwilioApiError:
    return TwilioApiError(20001, f"The request body is larger than the {limit} bytes Loft accepts", 413)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused before any work: ``error`` answered in the path's format, the connection closed after it
    when ``close`` (the body was not read)."""

    error: TwilioApiError
    close: bool

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = render.error(render.format_for(scope["path"]), self.error)
        if self.close:
            response.headers["connection"] = "close"
        await response(scope, receive, send)


def check(scope: Scope, max_body: int) -> Refusal | bool:
    """An HTTP request's limits, checked before any work: a :class:`Refusal` when its body is over ``max_body``
    bytes (``Content-Length``) or its path or query string holds a NUL character; otherwise whether its body is
    chunked, to be read through :class:`Counted`, which refuses it once it passes ``max_body``."""
    query: bytes = scope["query_string"]
    # (``query.find``, not ``in``: ``bytes.__contains__`` first tries its operand as an integer, and makes and drops
    # a ``TypeError`` for any other)
    if "\x00" in scope["path"] or (query and query.find(b"%00") >= 0):
        return Refusal(_nul_in(scope), close=False)
    length: bytes | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            chunked = True
    if length is not None:
        if length.isdigit() and int(length) > max_body:  # (the server refuses any other length)
            return Refusal(too_large(max_body), close=True)
        return False
    return chunked


class Counted:
    """A chunked request's ``receive``, raising :func:`too_large` once its body passes ``limit`` bytes; and its
    ``send``, which asks the server to close the connection when the answer starts before the body has all
    been read (so that the server does not read the rest only to drop it)."""

    __slots__ = ("_receive", "_send", "_limit", "_seen", "_ended")

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive = receive
        self._send = send
        self._limit = limit
        self._seen = 0
        self._ended = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._limit:
                raise too_large(self._limit)
            self._ended = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self._ended:
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)


def _nul_in(scope: Scope) -> InvalidParameter:
    if "\x00" in scope["path"]:
        return InvalidParameter(20001, "The requested path contains a NUL character (%00)")
    try:
        forms.refuse_nul(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
    except InvalidParameter as refused:
        return refused
    return InvalidParameter(20001, "The query string contains a NUL character (%00)")
