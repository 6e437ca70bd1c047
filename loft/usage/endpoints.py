"""``/2010-04-01/Accounts/{AccountSid}/Usage/Records`` (and its eight subresources) and ``…/Balance``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from loft.kit import dates, endpoint, paging, render
from loft.kit.endpoint import Answer, Call
from loft.usage import service

_BASE = "/2010-04-01/Accounts/{account_sid}"
_FILTERS = ("Category", "StartDate", "EndDate", "IncludeSubaccounts")


def _lister(kind: service.Kind) -> endpoint.Work:
    async def list_records(call: Call) -> Answer:
        query = call.params
        page_request = paging.parse(query)
        moment = dates.now()
        parsed = service.parse_query(kind, query, today=moment.date())
        found: list[dict[str, Any]] = []
        total = 0
        if parsed is not None:
            found, total = await service.records(call.conn, call.account, kind, parsed,
                                                 price_unit=call.loft.settings.price_unit, today=moment.date(),
                                                 as_of=moment, offset=page_request.offset, size=page_request.size)
        envelope = _envelope(
            found,
            total,
            path=f"/2010-04-01/Accounts/{call.account.sid}/Usage/Records{kind.suffix}.json",
            filters=[(name, query[name]) for name in _FILTERS if name in query],
            request=page_request,
        )
        return render.Page(envelope, key="usage_records", xml_list_tag="UsageRecords", xml_item_tag="UsageRecord")

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


async def fetch_balance(call: Call) -> Answer:
    left = await service.balance(call.conn, call.account, today=dates.now().date())
    body = {"account_sid": call.account.sid, "balance": f"{left:f}", "currency": call.loft.settings.price_unit}
    return render.Resource(body, xml_tag="Balance")


routes = [
    *(endpoint.route(f"{_BASE}/Usage/Records{kind.suffix}", _lister(kind)) for kind in service.KINDS),
    endpoint.route(f"{_BASE}/Balance", fetch_balance),
]
