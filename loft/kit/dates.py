"""Dates the way the 2010-04-01 API writes and reads them.

Twilio writes RFC 2822 dates in GMT with a ``+0000`` offset (``Thu, 30 Jul 2015 20:12:31 +0000``); the SDKs
ignore the offset, so anything else would be read wrongly. List filters arrive as ``YYYY-MM-DD`` or as the
``YYYY-MM-DDTHH:MM:SSZ`` that twilio-python's ``serialize.iso8601_datetime`` sends.

Loft's "now" is :func:`now`: the wall clock moved ahead by the simulator's clock (``POST /sim/v1/Clock``), which
every date a client sees and every moment a message's life is timed by follow. What guards real processes (job
leases, console sessions, timeouts) reads :func:`real_now` or a monotonic clock instead; :mod:`loft.sim.clock`
says which is which, and how every process of a deployment keeps the same offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


#: How far the simulator's clock is ahead of the wall clock in this process (:mod:`loft.sim.clock` keeps it up
#: with the deployment's): it only ever grows, so that Loft's clock never goes back.
_ahead = timedelta(0)


def now() -> datetime:
    """Loft's clock: the wall clock, moved ahead by the simulator's clock (no read of the database: the offset is
    this process's, kept up by :mod:`loft.sim.clock`)."""
    moment = datetime.now(UTC)
    return moment + _ahead if _ahead else moment


def real_now() -> datetime:
    """The wall clock, for what guards real processes and people rather than messages: job leases, console
    sessions, how long a relayed upstream's webhook tokens are kept (see :mod:`loft.sim.clock`)."""
    return datetime.now(UTC)


def ahead() -> timedelta:
    """How far :func:`now` is ahead of the wall clock in this process."""
    return _ahead


def move_ahead(seconds: int) -> bool:
    """Put :func:`now` ``seconds`` ahead of the wall clock, unless it is that far ahead already (the clock never goes
    back: an offset read before another process's advance is ignored); True if it moved."""
    global _ahead
    if seconds <= _ahead.total_seconds():
        return False
    _ahead = timedelta(seconds=seconds)
    return True


class PerSecond:
    """A text that depends only on a moment's second (its date and time to the second, in the moment's own zone),
    remembered for the second asked for last: a busy server writes many moments of one second (a resource's
    dates, a batch's rows). ``write`` makes the text of a second (a moment without microseconds). The memory is
    one tuple, replaced whole: threads that share it see all of one, never half."""

    __slots__ = ("_write", "_last")

    def __init__(self, write: Callable[[datetime], str]) -> None:
        self._write = write
        #: The second asked for last: its first instant, the next second's, its zone, and its text. (Nothing yet:
        #: a naive moment is not before the last naive one, and an aware one has another zone.)
        self._last: tuple[datetime, datetime, tzinfo | None, str] = (datetime.max, datetime.max, None, "")

    def __call__(self, moment: datetime) -> str:
        start, end, zone, text = self._last
        if moment.tzinfo is zone and start <= moment < end:  # (one zone: compared as wall clocks)
            return text
        start = moment.replace(microsecond=0)
        text = self._write(start)
        # (the last second of year 9999 has no next one: it is not remembered)
        end = start + _SECOND if start.replace(tzinfo=None) < _LAST_SECOND else start
        self._last = (start, end, moment.tzinfo, text)
        return text


_SECOND = timedelta(seconds=1)
_LAST_SECOND = datetime.max.replace(microsecond=0)

_RFC2822 = PerSecond(lambda utc: f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
                                 f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} +0000")


def rfc2822(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return _RFC2822(moment if moment.tzinfo is UTC else as_utc(moment))


def iso8601(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_utc(moment: datetime) -> datetime:
    """Datetimes read back from SQLite are naive; they were stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


#: The days a list filter may name. A filter's end is the next midnight (or second), which must exist: Python's
#: dates end with 9999-12-31, so the last day a filter may name is the one before it.
FIRST_DAY = date(1, 1, 1)
LAST_DAY = date(9999, 12, 30)


class OutOfRange(ValueError):
    """A well-formed filter date outside ``FIRST_DAY`` … ``LAST_DAY`` (once in UTC)."""


class DateFilter:
    """A ``DateSent`` filter value: a whole day (``YYYY-MM-DD``) or an instant (``…THH:MM:SSZ``)."""

    __slots__ = ("start", "whole_day")

    def __init__(self, start: datetime, whole_day: bool) -> None:
        self.start = start
        self.whole_day = whole_day

    @property
    def end(self) -> datetime:
        """The first instant after the value: the next midnight for a day, the next second otherwise."""
        return self.start + (timedelta(days=1) if self.whole_day else timedelta(seconds=1))


def parse_filter(text: str) -> DateFilter | None:
    """Parse a list filter date; ``None`` when it is neither form (or no such day, as 2024-02-30).

    Raises :class:`OutOfRange` for a date outside ``FIRST_DAY`` … ``LAST_DAY``: callers answer it with a 400 of
    their own (a client asking for ``DateSent<=9999-12-31`` is told the range, not that the date is malformed).
    """
    text = text.strip()
    day = _DAY.match(text)
    try:
        if day:
            y, m, d = (int(g) for g in day.groups())
            found = DateFilter(datetime(y, m, d, tzinfo=UTC), whole_day=True)
        else:
            instant = _INSTANT.match(text)
            if not instant:
                return None
            y, mo, d, h, mi, s = (int(g) for g in instant.groups()[:6])
            moment = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
            offset = instant.group(7)
            if offset and offset != "Z":
                sign = 1 if offset[0] == "+" else -1
                digits = offset[1:].replace(":", "")
                moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            found = DateFilter(moment, whole_day=False)
    except OverflowError:  # an offset took the moment out of Python's dates (0001-01-01T00:00:00+01:00)
        raise OutOfRange(text) from None
    except ValueError:
        return None
    if not FIRST_DAY <= found.start.date() <= LAST_DAY:
        raise OutOfRange(text)
    return found


def parse_day(text: str) -> date | None:
    """A ``YYYY-MM-DD`` (or instant) filter's UTC day; ``None`` when it is not a date. Raises :class:`OutOfRange`."""
    parsed = parse_filter(text)
    return parsed.start.date() if parsed else None
