"""Usage and balance: the account's balance, its usage per category over a chosen period, and a plot of its
messages per day (an SVG drawn here, on the server: no script, no chart library).

The figures are the API's own (``loft.usage.service``, behind ``…/Balance`` and ``…/Usage/Records``): they
include the account's subaccounts, and count messages once they are billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from loft.console import web
from loft.console.web import Visit
from loft.errors import InvalidParameter
from loft.kit import dates
from loft.usage import service

#: Presets: name → (label, first and last day given today).
PERIODS = {
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
}
DEFAULT_PERIOD = "last_30_days"
#: The longest period plotted day by day (the table takes any period).
MAX_PLOTTED_DAYS = 366


def period_of(name: str, today: date) -> tuple[date, date]:
    if name == "last_7_days":
        return today - timedelta(days=6), today
    if name == "last_30_days":
        return today - timedelta(days=29), today
    return service.fixed_range(name, today)


def _day(text: str, label: str) -> date:
    try:
        parsed = dates.parse_day(text.strip())
    except dates.OutOfRange:
        raise InvalidParameter(20001, f"Dates run from {dates.FIRST_DAY} to {dates.LAST_DAY}.") from None
    if parsed is None:
        raise InvalidParameter(20001, f"{label} is a date written YYYY-MM-DD, not '{text}'.")
    return parsed


def chosen_period(query: Any, today: date) -> tuple[str, date, date]:
    """The preset the query names (``period``), or the days it gives (``start``, ``end``: "custom")."""
    start, end = (query.get("start") or "").strip(), (query.get("end") or "").strip()
    if start or end:
        first = _day(start, "From") if start else None
        last = _day(end, "To") if end else today
        first = first or last
        if first > last:
            raise InvalidParameter(20001, f"The period starts ({first}) after it ends ({last}).")
        return "custom", first, last
    name = query.get("period") or DEFAULT_PERIOD
    if name not in PERIODS:
        raise InvalidParameter(20001, f"There is no period '{name}': choose one of {', '.join(PERIODS.values())}.")
    first, last = period_of(name, today)
    return name, first, last


# The plot ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    x: float
    width: float
    outbound: int
    inbound: int
    #: Top and height of the outbound part (drawn at the bottom) and of the inbound part (stacked on it).
    outbound_top: float
    outbound_height: float
    inbound_top: float
    inbound_height: float

    @property
    def title(self) -> str:
        return f"{self.day}: {self.outbound} outbound, {self.inbound} inbound"


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: float
    right: float
    bars: list[Bar]
    #: (y, label) of the horizontal grid lines, and (x, label) of the days named under the axis.
    ticks: list[tuple[float, str]]
    labels: list[tuple[float, str]]
    total: int


def _ceiling(highest: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``highest`` (and at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= highest:
                return factor * step
        step *= 10


def chart(days: list[service.DayOfMessages], *, width: int = 760, height: int = 240) -> Chart:
    left, top, right, bottom = 44, 12, width - 12, height - 26
    top_value = _ceiling(max((day.inbound + day.outbound for day in days), default=0))
    scale = (bottom - top) / top_value
    slot = (right - left) / max(len(days), 1)
    gap = min(slot * 0.2, 4.0)
    bars = []
    for index, day in enumerate(days):
        outbound_height = day.outbound * scale
        inbound_height = day.inbound * scale
        bars.append(Bar(day.day, round(left + index * slot + gap / 2, 2), round(max(slot - gap, 1.0), 2),
                        day.outbound, day.inbound, round(bottom - outbound_height, 2), round(outbound_height, 2),
                        round(bottom - outbound_height - inbound_height, 2), round(inbound_height, 2)))
    values = [0, top_value // 2, top_value] if top_value > 1 and top_value % 2 == 0 else [0, top_value]
    ticks = [(round(bottom - value * scale, 2), str(value)) for value in values]
    named = sorted({0, len(days) // 2, len(days) - 1}) if days else []
    labels = [(round(left + (index + 0.5) * slot, 2), days[index].day.strftime("%b %d")) for index in named]
    return Chart(width, height, left, bottom, right, bars, ticks, labels,
                 sum(day.inbound + day.outbound for day in days))


# The page ----------------------------------------------------------------------------------------------------


async def show(visit: Visit) -> Response:
    moment = dates.now()
    today = moment.date()
    period_error = None
    try:
        period, first, last = chosen_period(visit.query, today)
    except InvalidParameter as error:
        period_error = error.message
        period, (first, last) = DEFAULT_PERIOD, period_of(DEFAULT_PERIOD, today)
    unit = visit.loft.settings.price_unit
    query = service.Query(category=None, start=first, end=last, include_subaccounts=True)
    plotted = (last - first).days + 1 <= MAX_PLOTTED_DAYS
    async with visit.loft.db.read() as conn:
        balance = await service.balance(conn, visit.account, today=today)
        records, _ = await service.records(conn, visit.account, service.Kind(""), query, price_unit=unit,
                                           today=today, as_of=moment, offset=0, size=len(service.CATEGORIES))
        days = await service.messages_per_day(conn, visit.account, first, last, today=today) if plotted else []
    total = next(record for record in records if record["category"] == "totalprice")
    return visit.render("usage.html", balance=f"{balance:f}", unit=unit, periods=PERIODS, period=period,
                        first=first, last=last, period_error=period_error,
                        records=[record for record in records if record["category"] != "totalprice"],
                        total=Decimal(total["usage"]), chart=chart(days) if plotted else None,
                        max_plotted_days=MAX_PLOTTED_DAYS)


routes = [
    Route("/console/usage", web.page(show), methods=["GET"]),
]
