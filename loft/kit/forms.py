"""Request parameters as Twilio reads them: form-encoded bodies and query strings, repeatable keys.

The body is parsed as ``application/x-www-form-urlencoded`` whatever the Content-Type says: tools such as
Braze send Twilio's form body labelled as plain text (see the seeds), and Twilio accepts it. Its size is bounded
before it is read, at the edge (:mod:`loft.kit.limits`, ``LOFT_MAX_BODY_BYTES``).

No parameter may hold a NUL character (``%00``): PostgreSQL refuses it in text, where SQLite would store it, so
it is refused here on both, by name, before anything reaches a database (the path and query string are checked
at the edge, with :func:`refuse_nul`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, KeysView, Mapping
from functools import lru_cache
from typing import TypeVar, overload
from urllib.parse import unquote

from starlette.requests import ClientDisconnect, Request

from loft.errors import InvalidParameter

_T = TypeVar("_T")


class Form(Mapping[str, str]):
    """A request's parameters, a form body or a query string, as services read them: each name's last value (a
    mapping, as Starlette's ``MultiDict`` reads), and every value of a repeated name with :meth:`getlist`, in the
    order given. Loft's own type, so that services take none of Starlette's; ``get`` is a dict lookup
    (``Mapping.get`` looks a key up by raising and catching ``KeyError``, and a create asks for some twenty
    parameters that are absent)."""

    __slots__ = ("_last", "_pairs")
    _last: dict[str, str]
    _pairs: list[tuple[str, str]]

    def __init__(self, given: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        found = list(given.items()) if isinstance(given, Mapping) else list(given)
        self._pairs = found
        self._last = dict(found)

    @classmethod
    def of_pairs(cls, found: list[tuple[str, str]]) -> Form:
        """The form of ``found``, taken and not copied: a create's form is made for every request."""
        form = cls.__new__(cls)
        form._pairs = found
        form._last = dict(found)
        return form

    def __getitem__(self, key: str) -> str:
        return self._last[key]

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def keys(self) -> KeysView[str]:
        return self._last.keys()

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, default: str | _T, /) -> str | _T: ...

    def get(self, key: str, default: object = None, /) -> object:
        return self._last.get(key, default)

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in the order given (``[]`` if it is absent)."""
        return [value for name, value in self._pairs if name == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every name and value, repeated names included, in the order given."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Form({self._pairs!r})"


async def read(request: Request) -> Form:
    try:
        raw = await request.body()
    except ClientDisconnect:  # nobody is left to answer: no traceback in the log for it
        raise _disconnected() from None
    return parse(raw)


async def read_once(request: Request) -> Form:
    """:func:`read` for a request whose body nothing has read and nothing will read again (``POST …/Messages``):
    straight from its ASGI ``receive``, without Starlette's stream of chunks (an async generator, and
    ``Request.body`` keeps what it read for a second reader; here there is none, and ``request.body()`` must not
    be called after this)."""
    receive = request.receive
    chunks: list[bytes] = []
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if not message.get("more_body", False):
                return parse(b"".join([*chunks, chunk]) if chunks else chunk)
            chunks.append(chunk)
        elif kind == "http.disconnect":
            raise _disconnected()


def _disconnected() -> InvalidParameter:
    return InvalidParameter(20001, "The client closed the connection before the end of the request body")


def parse(raw: bytes) -> Form:
    """The parameters of a form-encoded body (UTF-8, no NUL: see the module's docstring)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidParameter(20001, "The request body is not valid UTF-8") from exc
    found = pairs(text)
    if "%00" in text or "\x00" in text:
        refuse_nul(found)
    return Form.of_pairs(found)


def refuse_nul(found: list[tuple[str, str]]) -> None:
    """Refuse parameters (``found``, decoded) of which a name or value holds a NUL character, naming the first."""
    for name, value in found:
        if "\x00" in name:
            raise InvalidParameter(20001, "A parameter name contains a NUL character (%00)")
        if "\x00" in value:
            raise InvalidParameter(20001, f"The '{name}' parameter contains a NUL character (%00)")


#: Short escaped names and values are remembered: the same senders, recipients and URLs (``%2B1…``,
#: ``https%3A…``) come back with request after request, and unquoting is most of what reading a form costs.
#: Message bodies are not (free text, seldom sent twice: they would only push the others out).
_SHORT = 100
_FREE_TEXT = "Body"


@lru_cache(maxsize=4096)
def _unquoted(text: str) -> str:
    return unquote(text)


def pairs(text: str) -> list[tuple[str, str]]:
    """The name/value pairs of a form-encoded ``text``, as ``urllib.parse.parse_qsl(text,
    keep_blank_values=True)`` gives them (``+`` is a space, bad ``%`` escapes stay as written, invalid UTF-8
    becomes U+FFFD), in about half its time: most names and values need no unquoting, and are not passed
    through it."""
    found = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = _unquoted(name) if len(name) <= _SHORT else unquote(name)
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = _unquoted(value) if len(value) <= _SHORT and name != _FREE_TEXT else unquote(value)
        found.append((name, value))
    return found


def boolean(form: Mapping[str, str], name: str) -> bool | None:
    """Twilio's booleans are ``true``/``false`` (any case); anything else is refused."""
    value = form.get(name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidParameter(20001, f"The '{name}' parameter must be true or false, not '{value}'")


def integer(form: Mapping[str, str], name: str, *, low: int, high: int, code: int = 20001) -> int | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise InvalidParameter(code, f"The '{name}' parameter must be an integer, not '{value}'") from None
    if not low <= number <= high:
        raise InvalidParameter(code, f"The '{name}' parameter must be between {low} and {high}, not {number}")
    return number


def choice(form: Mapping[str, str], name: str, allowed: tuple[str, ...], *, default: str | None = None) -> str | None:
    value = form.get(name)
    if value is None:
        return default
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise InvalidParameter(20001, f"The '{name}' parameter must be one of {', '.join(allowed)}, not '{value}'")


def method(form: Mapping[str, str], name: str, *, default: str = "POST") -> str:
    value = choice(form, name, ("GET", "POST"), default=default)
    assert value is not None
    return value
