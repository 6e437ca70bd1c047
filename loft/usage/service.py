"""Usage records: what an account (and, by default, its subaccounts) did, per category and period.

Nothing is stored for usage: every answer is computed from the ``messages`` and ``incoming_phone_numbers``
tables with SQL aggregates (``GROUP BY`` the UTC day, month or year of ``date_created``), so it always matches
the messages the account can list.

* Messages count once they are billed (``loft.messages.service.BILLED``), in the category of their direction
  (``inbound`` or any ``outbound-*``) and kind (``MM…`` SIDs or media make an MMS): ``sms-inbound``,
  ``sms-outbound``, ``mms-inbound``, ``mms-outbound``, rolled up into ``sms`` and ``mms``. ``count`` is in
  messages; ``usage`` is in segments for SMS (what Twilio bills) and in messages for MMS. ``price`` is the sum
  of the messages' prices, as a positive amount.
* Phone numbers are billed a monthly fee (``MONTHLY_NUMBER_FEES``) on the day they were bought and on every
  monthly anniversary since, up to today: ``phonenumbers-local`` / ``-mobile`` / ``-tollfree`` and
  ``phonenumbers``. ``count`` and ``usage`` are the fees charged in the period. A released number's rows are
  deleted, so its past fees no longer show.
* ``totalprice`` is the sum of every price above; its ``usage`` is that amount in the price unit.

Twilio's categories Loft has no such usage for (``calls``, ``recordings`` …) are answered with zero usage, which is
true; a name that is not one of Twilio's categories (:mod:`loft.usage.categories`) is refused, 400 with 20001.
The balance is ``STARTING_CREDIT`` minus everything the account and its subaccounts were charged.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, case, func, literal_column, or_, select

from loft.accounts.service import API_VERSION, Account
from loft.db.engine import Conn
from loft.db.tables import accounts, incoming_phone_numbers, messages
from loft.errors import InvalidParameter
from loft.kit import dates, forms
from loft.messages.service import BILLED
from loft.usage import categories

Granularity = Literal["day", "month", "year"]

#: Monthly fee of one phone number by ``number_type``, in the price unit (Twilio's US prices: local numbers
#: $1.15, toll-free $2.15 a month). Mobile numbers are priced as local ones.
MONTHLY_NUMBER_FEES: dict[str, Decimal] = {
    "local": Decimal("1.15"),
    "mobile": Decimal("1.15"),
    "tollFree": Decimal("2.15"),
}
#: What an account holds before any charge. Loft bills nothing for real and never refuses work for want of
#: credit: the balance simply goes below zero as the account spends.
STARTING_CREDIT = Decimal("0")

_CENTS = Decimal("0.00001")
_RELATIVE = re.compile(r"^([+-]?)(\d{1,5})\s*days?$", re.IGNORECASE)
_NUMBER_CATEGORY = {"local": "phonenumbers-local", "mobile": "phonenumbers-mobile", "tollFree": "phonenumbers-tollfree"}


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    description: str
    count_unit: str
    usage_unit: str  # "" for totalprice: it is measured in the price unit


#: The categories Loft measures, in the order records are listed.
CATEGORIES: tuple[Category, ...] = (
    Category("mms", "MMS Messages", "messages", "messages"),
    Category("mms-inbound", "Inbound MMS Messages", "messages", "messages"),
    Category("mms-outbound", "Outbound MMS Messages", "messages", "messages"),
    Category("phonenumbers", "Phone Numbers", "phone-numbers", "phone-numbers"),
    Category("phonenumbers-local", "Local Phone Numbers", "phone-numbers", "phone-numbers"),
    Category("phonenumbers-mobile", "Mobile Phone Numbers", "phone-numbers", "phone-numbers"),
    Category("phonenumbers-tollfree", "Toll-Free Phone Numbers", "phone-numbers", "phone-numbers"),
    Category("sms", "SMS Messages", "messages", "segments"),
    Category("sms-inbound", "Inbound SMS Messages", "messages", "segments"),
    Category("sms-outbound", "Outbound SMS Messages", "messages", "segments"),
    Category("totalprice", "Total Price", "", ""),
)
_BY_NAME = {category.name: category for category in CATEGORIES}


@dataclass(frozen=True, slots=True)
class Kind:
    """One of the nine list resources: ``Records`` itself or a subresource such as ``Daily``."""

    path: str  # "" for Records.json, else the subresource name ("Daily", "ThisMonth" …)
    granularity: Granularity | None = None
    #: For Today, Yesterday, ThisMonth, LastMonth: the fixed range, given today's date.
    fixed: Literal["today", "yesterday", "this_month", "last_month"] | None = None

    @property
    def suffix(self) -> str:
        return f"/{self.path}" if self.path else ""


KINDS: tuple[Kind, ...] = (
    Kind(""),
    Kind("AllTime"),
    Kind("Daily", "day"),
    Kind("LastMonth", fixed="last_month"),
    Kind("Monthly", "month"),
    Kind("ThisMonth", fixed="this_month"),
    Kind("Today", fixed="today"),
    Kind("Yearly", "year"),
    Kind("Yesterday", fixed="yesterday"),
)
_SUBRESOURCE_KEYS = {"AllTime": "all_time", "Daily": "daily", "LastMonth": "last_month", "Monthly": "monthly",
                     "ThisMonth": "this_month", "Today": "today", "Yearly": "yearly", "Yesterday": "yesterday"}


@dataclass(slots=True)
class Totals:
    count: int = 0
    usage: Decimal = Decimal(0)
    price: Decimal = Decimal(0)

    def add(self, count: int, usage: Decimal, price: Decimal) -> None:
        self.count += count
        self.usage += usage
        self.price += price


#: Period start (``None``: the whole window) → category name → totals.
Buckets = dict[date | None, dict[str, Totals]]


@dataclass(frozen=True, slots=True)
class Query:
    """A validated usage request."""

    category: str | None
    start: date | None  # None: from the beginning
    end: date
    include_subaccounts: bool


def parse_query(kind: Kind, query: Mapping[str, str], *, today: date) -> Query | None:
    """The request's filters, or ``None`` when a fixed range and the given dates do not overlap."""
    category = query.get("Category")
    if category is not None:
        category = category.strip().lower()
        if category not in categories.TWILIO:
            raise InvalidParameter(20001, f"Category '{query['Category']}' is not a usage category "
                                          "(twilio.com/docs/usage/api/usage-record#usage-categories)")
    start = _date(query, "StartDate", today)
    end = _date(query, "EndDate", today)
    if start is not None and end is not None and start > end:
        raise InvalidParameter(20001, f"StartDate {start} is after EndDate {end}")
    include = _boolean(query, "IncludeSubaccounts", default=True)
    if kind.fixed is not None:
        low, high = fixed_range(kind.fixed, today)
        start = max(start, low) if start else low
        end = min(end, high) if end else high
        if start > end:
            return None
    return Query(category=category, start=start, end=end or today, include_subaccounts=include)


def fixed_range(name: str, today: date) -> tuple[date, date]:
    if name == "today":
        return today, today
    if name == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    first = today.replace(day=1)
    if name == "this_month":
        return first, today
    last = first - timedelta(days=1)
    return last.replace(day=1), last


async def records(conn: Conn, account: Account, kind: Kind, query: Query, *, price_unit: str, today: date,
                  as_of: datetime, offset: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """The ``size`` records from ``offset`` on of all the request asks for, in listing order (period, then
    category), and how many there are in all.

    Only the page is rendered: ``Daily`` from 0001-01-01 to 9999-12-30 is some forty million records."""
    scope = _scope(account.sid, query.include_subaccounts)
    buckets = await measure(conn, scope, query.start, query.end, kind.granularity, today=today)
    start = query.start
    if start is None:
        earliest = [key for key in buckets if key is not None]
        start = min([account.date_created.date(), *earliest])
    categories = [_BY_NAME.get(query.category) or Category(query.category, query.category, "", "")] \
        if query.category else list(CATEGORIES)
    total = _period_count(start, query.end, kind.granularity) * len(categories)
    unit = price_unit.lower()
    stamp = as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    found: list[dict[str, Any]] = []
    if offset >= total:
        return found, total
    skipped_periods, skipped_categories = divmod(offset, len(categories))
    for key, first, last in _periods(start, query.end, kind.granularity, skip=skipped_periods):
        totals = buckets.get(key, {})
        for category in categories[skipped_categories:]:
            if len(found) == size:
                return found, total
            found.append(_render(account.sid, kind, category, totals.get(category.name) or Totals(),
                                 first, last, unit=unit, as_of=stamp))
        skipped_categories = 0
    return found, total


async def balance(conn: Conn, account: Account, *, today: date) -> Decimal:
    """What the account has left: ``STARTING_CREDIT`` minus all it and its subaccounts were charged."""
    buckets = await measure(conn, _scope(account.sid, True), None, today, None, today=today)
    spent = buckets.get(None, {}).get("totalprice") or Totals()
    return (STARTING_CREDIT - spent.price).quantize(_CENTS)


@dataclass(frozen=True, slots=True)
class DayOfMessages:
    day: date
    inbound: int
    outbound: int


async def messages_per_day(conn: Conn, account: Account, start: date, end: date, *,
                           today: date) -> list[DayOfMessages]:
    """Billed messages of the account and its subaccounts on each UTC day from ``start`` to ``end`` (the ``sms-*``
    and ``mms-*`` counts of the daily records), every day listed."""
    buckets = await measure(conn, _scope(account.sid, True), start, end, "day", today=today)
    found = []
    for key, _, _ in _periods(start, end, "day"):
        assert key is not None
        totals = buckets.get(key) or {}
        inbound, outbound = (sum(totals[name].count for name in (f"sms-{way}", f"mms-{way}") if name in totals)
                             for way in ("inbound", "outbound"))
        found.append(DayOfMessages(key, inbound, outbound))
    return found


# Measuring -------------------------------------------------------------------------------------------------


async def measure(conn: Conn, scope: ColumnElement[bool] | Any, start: date | None, end: date,
                  granularity: Granularity | None, *, today: date) -> Buckets:
    """Totals per period (keyed by the period's first day, or ``None`` for the whole window) and category."""
    buckets: Buckets = defaultdict(lambda: defaultdict(Totals))
    sqlite = conn.dialect.name == "sqlite"
    await _measure_messages(conn, buckets, scope, start, end, granularity, sqlite=sqlite)
    await _measure_numbers(conn, buckets, scope, start, min(end, today), granularity, sqlite=sqlite)
    return buckets


async def _measure_messages(conn: Conn, buckets: Buckets, scope: Any, start: date | None, end: date,
                            granularity: Granularity | None, *, sqlite: bool) -> None:
    m = messages.c
    where = [m.account_sid.in_(scope), m.status.in_(sorted(BILLED)), m.date_created < _midnight(end + timedelta(1))]
    if start is not None:
        where.append(m.date_created >= _midnight(start))
    bucket = _bucket(m.date_created, granularity, sqlite=sqlite)
    # Classify in a subquery and group by its columns: PostgreSQL matches GROUP BY expressions textually, and
    # the CASE's bound parameters would differ between the select list and the GROUP BY.
    rows = select(
        bucket.label("bucket"),
        case((m.direction == "inbound", 1), else_=0).label("inbound"),
        case((or_(m.sid.like("MM%"), m.num_media > 0), 1), else_=0).label("mms"),
        m.price_quote,
        m.num_segments,
    ).where(*where).subquery()
    grouped = select(
        rows.c.bucket, rows.c.inbound, rows.c.mms, rows.c.price_quote,
        func.count().label("n"), func.sum(rows.c.num_segments).label("segments"),
    ).group_by(rows.c.bucket, rows.c.inbound, rows.c.mms, rows.c.price_quote)
    for row in (await conn.execute(grouped)).all():
        key = _key(row.bucket, granularity)
        kind = "mms" if row.mms else "sms"
        count = int(row.n)
        usage = Decimal(count if row.mms else int(row.segments or 0))
        price = -Decimal(row.price_quote or 0) * count
        totals = buckets[key]
        totals[kind].add(count, usage, price)
        totals[f"{kind}-{'inbound' if row.inbound else 'outbound'}"].add(count, usage, price)
        totals["totalprice"].add(0, price, price)


async def _measure_numbers(conn: Conn, buckets: Buckets, scope: Any, start: date | None, end: date,
                           granularity: Granularity | None, *, sqlite: bool) -> None:
    n = incoming_phone_numbers.c
    rows = select(
        _bucket(n.date_created, "day", sqlite=sqlite).label("bought"), n.number_type
    ).where(n.account_sid.in_(scope), n.date_created < _midnight(end + timedelta(1))).subquery()
    grouped = select(rows.c.bought, rows.c.number_type, func.count().label("n")) \
        .group_by(rows.c.bought, rows.c.number_type)
    for row in (await conn.execute(grouped)).all():
        fee = MONTHLY_NUMBER_FEES.get(row.number_type, MONTHLY_NUMBER_FEES["local"])
        leaf = _NUMBER_CATEGORY.get(row.number_type, "phonenumbers-local")
        count = int(row.n)
        for charged in _anniversaries(date.fromisoformat(row.bought), end):
            if start is not None and charged < start:
                continue
            totals = buckets[_truncate(charged, granularity)]
            price = fee * count
            totals["phonenumbers"].add(count, Decimal(count), price)
            totals[leaf].add(count, Decimal(count), price)
            totals["totalprice"].add(0, price, price)


def _scope(account_sid: str, include_subaccounts: bool) -> Any:
    """The accounts whose usage is summed: the account, and its subaccounts unless told otherwise."""
    chosen = accounts.c.sid == account_sid
    if include_subaccounts:
        chosen = or_(chosen, accounts.c.parent_sid == account_sid)
    return select(accounts.c.sid).where(chosen)


def _bucket(column: Any, granularity: Granularity | None, *, sqlite: bool) -> ColumnElement[Any]:
    """The UTC day, month or year of ``column`` as text (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``)."""
    if granularity is None:
        return literal_column("''")
    if sqlite:  # SQLite stores the UTC instant as 'YYYY-MM-DD HH:MM:SS.ffffff' text
        fmt = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[granularity]
        return func.strftime(literal_column(f"'{fmt}'"), column)
    fmt = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[granularity]
    return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column(f"'{fmt}'"))


def _key(label: str | None, granularity: Granularity | None) -> date | None:
    if granularity is None or not label:
        return None
    parts = [int(part) for part in label.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def _truncate(day: date, granularity: Granularity | None) -> date | None:
    if granularity is None:
        return None
    if granularity == "day":
        return day
    if granularity == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _anniversaries(bought: date, until: date) -> Iterator[date]:
    """The day a number was bought and the same day of each following month (or the month's last day)."""
    months = 0
    while True:
        year, month = divmod(bought.month - 1 + months, 12)
        year, month = bought.year + year, month + 1
        charged = date(year, month, min(bought.day, calendar.monthrange(year, month)[1]))
        if charged > until:
            return
        yield charged
        months += 1


def _period_count(start: date, end: date, granularity: Granularity | None) -> int:
    """How many periods :func:`_periods` gives from ``start`` to ``end``."""
    if granularity is None:
        return 1
    first = _truncate(start, granularity)
    assert first is not None
    if first > end:
        return 0
    if granularity == "day":
        return (end - first).days + 1
    if granularity == "month":
        return (end.year - first.year) * 12 + end.month - first.month + 1
    return end.year - first.year + 1


def _periods(start: date, end: date, granularity: Granularity | None, *,
             skip: int = 0) -> Iterator[tuple[date | None, date, date]]:
    """(bucket key, first day, last day) of each period from ``start`` to ``end``, clipped to them, the first
    ``skip`` left out (``skip`` below :func:`_period_count`)."""
    if granularity is None:
        if skip == 0:
            yield None, start, end
        return
    first = _truncate(start, granularity)
    assert first is not None
    if skip and granularity == "day":
        first += timedelta(days=skip)
    elif skip and granularity == "month":
        year, month = divmod(first.month - 1 + skip, 12)
        first = date(first.year + year, month + 1, 1)
    elif skip:
        first = date(first.year + skip, 1, 1)
    while first <= end:
        if granularity == "day":
            following = first + timedelta(days=1)
        elif granularity == "month":
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        else:
            following = date(first.year + 1, 1, 1)
        yield first, max(first, start), min(following - timedelta(days=1), end)
        first = following


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


# Rendering -------------------------------------------------------------------------------------------------


def _render(account_sid: str, kind: Kind, category: Category, totals: Totals, first: date, last: date, *,
            unit: str, as_of: str) -> dict[str, Any]:
    base = f"/{API_VERSION}/Accounts/{account_sid}/Usage/Records"
    only = urlencode({"Category": category.name})
    price = totals.price.quantize(_CENTS)
    is_money = category.name == "totalprice"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "as_of": as_of,
        "category": category.name,
        "count": str(totals.count),
        "count_unit": category.count_unit,
        "description": category.description,
        "end_date": last.isoformat(),
        "price": float(price),
        "price_unit": unit,
        "start_date": first.isoformat(),
        "subresource_uris": {key: f"{base}/{path}.json?{only}" for path, key in _SUBRESOURCE_KEYS.items()},
        "uri": f"{base}{kind.suffix}.json?"
               + urlencode({"Category": category.name, "StartDate": first.isoformat(), "EndDate": last.isoformat()}),
        "usage": f"{price:f}" if is_money else str(int(totals.usage)),
        "usage_unit": unit if is_money else category.usage_unit,
    }


# Parameters ------------------------------------------------------------------------------------------------


def _date(query: Mapping[str, str], name: str, today: date) -> date | None:
    """``YYYY-MM-DD`` (GMT), or an offset from today such as ``-30days`` or ``+30days``."""
    value = query.get(name)
    if value is None or not value.strip():
        return None
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        days = int(relative.group(2))
        return today - timedelta(days=days) if relative.group(1) == "-" else today + timedelta(days=days)
    try:
        parsed = dates.parse_day(text)
    except dates.OutOfRange:
        raise InvalidParameter(20001, f"{name} must be a day from {dates.FIRST_DAY} to {dates.LAST_DAY}, "
                                      f"not '{value}'") from None
    if parsed is None:
        raise InvalidParameter(20001, f"{name} must be a date (YYYY-MM-DD) or an offset such as -30days, not '{value}'")
    return parsed


def _boolean(query: Mapping[str, str], name: str, *, default: bool) -> bool:
    """A boolean filter; absent or empty means ``default``."""
    value = forms.boolean(query, name) if query.get(name) else None
    return default if value is None else value
