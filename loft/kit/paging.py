"""Twilio's paging: ``PageSize``, ``Page``, ``PageToken``, the links between pages, and 2010-04-01's list envelope
(the v1 domains' is :func:`loft.kit.v1.page`, over the same :func:`links`).

Pages are keyset pages over a resource's insertion order (newest first). ``PageToken=PA<sid>`` asks for the
records after ``<sid>``; ``PB<sid>`` for the ones before it (the previous page). ``Page`` alone (no token) is an
offset, as Twilio still honours it. The envelope holds exactly Twilio's keys, since twilio-python takes the
one key that is not a paging key as the records and breaks on any extra one; every ``*_uri`` is relative
and keeps the list's filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from loft.errors import InvalidParameter
from loft.kit import sids

DEFAULT_SIZE = 50
MAX_SIZE = 1000
#: The largest offset a page may start at: SQLite's and PostgreSQL's ``OFFSET`` is a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1


@dataclass(frozen=True, slots=True)
class PageRequest:
    size: int
    number: int
    #: ("after" | "before", sid) from PageToken, or None for an offset page.
    anchor: tuple[Literal["after", "before"], str] | None

    @property
    def offset(self) -> int:
        return self.size * self.number


def parse(query: Mapping[str, str]) -> PageRequest:
    size = _integer(query, "PageSize", DEFAULT_SIZE)
    if size < 1:
        raise InvalidParameter(20001, f"PageSize must be between 1 and {MAX_SIZE}, not {size}")
    # twilio-python sends PageSize=N for list(limit=N) whatever N is: cap it as Twilio does, do not refuse.
    size = min(size, MAX_SIZE)
    number = _integer(query, "Page", 0)
    if not 0 <= number <= last_page(size):
        raise InvalidParameter(20001, f"Page must be between 0 and {last_page(size)} (with PageSize={size}), "
                                      f"not {number}")
    token = query.get("PageToken")
    anchor: tuple[Literal["after", "before"], str] | None = None
    if token:
        direction = {"PA": "after", "PB": "before"}.get(token[:2])
        if direction is None or not sids.looks_like_sid(token[2:]):
            raise InvalidParameter(20001, f"PageToken '{token}' is not a token Loft issued")
        anchor = ("after" if direction == "after" else "before", token[2:])
    return PageRequest(size=size, number=number, anchor=anchor)


def last_page(size: int) -> int:
    """The last page number of pages of ``size`` whose offset a database can take."""
    return MAX_OFFSET // size - 1


@dataclass(frozen=True, slots=True)
class Links:
    """Where a page and its neighbours are: each a path with its query string (the list's filters, ``PageSize``,
    ``Page`` and, but for the first page, a ``PageToken``). The 2010-04-01 envelope names them relative
    (:func:`envelope`), the v1 domains' absolute (:mod:`loft.kit.v1`)."""

    first: str
    current: str
    next: str | None
    previous: str | None


def links(
    *,
    records: Sequence[Mapping[str, Any]],
    path: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
    has_next: bool,
) -> Links:
    """The links of the page of ``records`` (already rendered, each with its ``sid``); ``has_next`` if more follow."""
    size = request.size

    def uri(page: int, token: str | None) -> str:
        params = [*filters, ("PageSize", str(size)), ("Page", str(page))]
        if token:
            params.append(("PageToken", token))
        return f"{path}?{urlencode(params)}"

    current_token = f"P{'A' if request.anchor[0] == 'after' else 'B'}{request.anchor[1]}" if request.anchor else None
    return Links(
        first=uri(0, None),
        current=uri(request.number, current_token),
        next=uri(request.number + 1, f"PA{records[-1]['sid']}") if has_next and records else None,
        previous=uri(request.number - 1, f"PB{records[0]['sid']}") if request.number > 0 and records else None,
    )


def envelope(
    *,
    key: str,
    records: Sequence[Mapping[str, Any]],
    path: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
    has_next: bool,
) -> dict[str, Any]:
    """The 2010-04-01 list body. ``records`` are the page's rows already rendered; ``has_next`` if more follow."""
    found = links(records=records, path=path, filters=filters, request=request, has_next=has_next)
    start = request.offset
    return {
        key: list(records),
        "end": start + max(len(records) - 1, 0),
        "first_page_uri": found.first,
        "next_page_uri": found.next,
        "page": request.number,
        "page_size": request.size,
        "previous_page_uri": found.previous,
        "start": start,
        "uri": found.current,
    }


def _integer(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(20001, f"{name} must be an integer, not '{value}'") from None
