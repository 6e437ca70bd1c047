"""``/2010-04-01/Accounts/{AccountSid}/Usage/Records`` (and its eight subresources) and ``…/Balance``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.kit import dates, paging, render
from loft.usage import service

_BASE = "/2010-04-01/Accounts/{account_sid}"
_FILTERS = ("Category", "StartDate", "EndDate", "IncludeSubaccounts")


def _lister(kind: service.Kind) -> Callable[[Request], Awaitable[Response]]:
    async def list_records(request: Request) -> Response:
        account = await auth.account_in_path(request)
        query = request.query_params
        page_request = paging.parse(query)
        moment = dates.now()
        parsed = service.parse_query(kind, query, today=moment.date())
        loft = context.of(request)
        found: list[dict[str, Any]] = []
        total = 0
        if parsed is not None:
            async with loft.db.read() as conn:
                found, total = await service.records(conn, account, kind, parsed,
                                                     price_unit=loft.settings.price_unit, today=moment.date(),
                                                     as_of=moment, offset=page_request.offset,
                                                     size=page_request.size)
        envelope = _envelope(
            found,
            total,
            path=f"/2010-04-01/Accounts/{account.sid}/Usage/Records{kind.suffix}.json",
            filters=[(name, query[name]) for name in _FILTERS if name in query],
            request=page_request,
        )
        return render.page(request, envelope, key="usage_records", xml_list_tag="UsageRecords",
                           xml_item_tag="UsageRecord")

    list_records.__name__ = f"list_usage_records_{kind.path.lower() or 'all'}"
    return list_records


def _envelope(window: Sequence[Mapping[str, Any]], total: int, *, path: str, filters: Sequence[tuple[str, str]],
              request: paging.PageRequest) -> dict[str, Any]:
    """Twilio's list envelope over offset pages (usage records have no SID to anchor a page token on): ``window``
    is the page's records, ``total`` how many there are in all."""
    size, start = request.size, request.offset

    def uri(page: int) -> str:
        return f"{path}?{urlencode([*filters, ('PageSize', str(size)), ('Page', str(page))])}"

    return {
        "usage_records": list(window),
        "end": start + max(len(window) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(request.number + 1) if total > start + size else None,
        "page": request.number,
        "page_size": size,
        "previous_page_uri": uri(request.number - 1) if request.number > 0 else None,
        "start": start,
        "uri": uri(request.number),
    }


async def fetch_balance(request: Request) -> Response:
    account = await auth.account_in_path(request)
    loft = context.of(request)
    async with loft.db.read() as conn:
        left = await service.balance(conn, account, today=dates.now().date())
    body = {"account_sid": account.sid, "balance": f"{left:f}", "currency": loft.settings.price_unit}
    return render.resource(request, body, xml_tag="Balance")


routes = [
    *(Route(f"{_BASE}/Usage/Records{kind.suffix}", _lister(kind), methods=["GET"]) for kind in service.KINDS),
    Route(f"{_BASE}/Balance", fetch_balance, methods=["GET"]),
]
