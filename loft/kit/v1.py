"""The wire shape of Twilio's v1 domains (messaging, content …), which is not 2010-04-01's.

- **JSON only**, no format suffix; requests are form-encoded as in 2010-04-01 (:mod:`loft.kit.forms`), but for
  the Content API and the messaging v2 Senders, whose bodies are JSON (:mod:`loft.kit.jsonbody`). The v2 Senders
  answer in this same shape.
- **Dates** are ISO 8601 in UTC, ``2015-07-30T20:12:31Z`` (twilio-python reads them with
  ``deserialize.iso8601_datetime``), not RFC 2822: :func:`date`.
- **URLs are absolute**: a resource's ``url``, its ``links`` and the paging links, where twilio-python follows
  ``meta.next_page_url`` as it is. They start with :func:`origin`: ``LOFT_PUBLIC_URL`` when it is set, else the
  address the client used (its ``Host``), so that a client reaching Loft at one address is never sent to another.
- **Lists** are ``{<key>: [...], "meta": {page, page_size, first_page_url, previous_page_url, next_page_url,
  url, key}}`` (:func:`page`); twilio-python finds the records by ``meta.key``. The paging parameters and tokens
  are 2010-04-01's (:mod:`loft.kit.paging`).
- **A sender's capabilities** are a list of names (``["MMS", "SMS", "Voice"]``), not 2010-04-01's object of
  booleans: :func:`capabilities`.
- **Errors** have 2010-04-01's JSON body ``{code, message, more_info, status}``: twilio-python raises
  ``TwilioRestException`` from ``code`` and ``message`` either way (:mod:`loft.kit.render`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loft.kit import dates, paging, render


def date(moment: datetime | None) -> str | None:
    """A v1 date: ISO 8601 in UTC to the second, ``2015-07-30T20:12:31Z``."""
    return dates.iso8601(moment)


def origin(request: Request, public_url: str | None) -> str:
    """Where the client reaches Loft (scheme and host, no trailing ``/``): ``public_url`` if set, else the
    request's own base URL."""
    if public_url:
        return public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def capabilities(*, voice: bool = False, sms: bool = False, mms: bool = False) -> list[str]:
    """A sender's capabilities as the v1 domains list them, in Twilio's (alphabetical) order."""
    return [name for name, able in (("MMS", mms), ("SMS", sms), ("Voice", voice)) if able]


@dataclass(frozen=True, slots=True)
class Resource:
    """A v1 answer: ``data`` as JSON with ``status`` (a resource, or a page from :func:`page`)."""

    data: Mapping[str, Any]
    status: int = 200

    def response(self, request: Request) -> Response:
        return render.json_response(self.data, self.status)


def page(
    *,
    key: str,
    records: Sequence[Mapping[str, Any]],
    origin: str,
    path: str,
    filters: Sequence[tuple[str, str]],
    request: paging.PageRequest,
    has_next: bool,
) -> Resource:
    """A page of a v1 list: ``records`` already rendered (each with its ``sid``), ``path`` the list's
    (``/v1/Services``), ``has_next`` if more follow."""
    found = paging.links(records=records, path=path, filters=filters, request=request, has_next=has_next)
    return Resource({
        key: list(records),
        "meta": {
            "page": request.number,
            "page_size": request.size,
            "first_page_url": origin + found.first,
            "previous_page_url": origin + found.previous if found.previous else None,
            "url": origin + found.current,
            "next_page_url": origin + found.next if found.next else None,
            "key": key,
        },
    })
