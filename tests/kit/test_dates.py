from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from loft.kit import dates


@pytest.mark.parametrize(("inside", "start", "outside"), [
    pytest.param("9999-12-30", datetime(9999, 12, 30, tzinfo=UTC), "9999-12-31", id="last-day"),
    pytest.param("9999-12-30T23:59:59Z", datetime(9999, 12, 30, 23, 59, 59, tzinfo=UTC), "9999-12-31T00:00:00Z",
                 id="last-instant"),
    pytest.param("9999-12-31T00:30:00+01:00", datetime(9999, 12, 30, 23, 30, tzinfo=UTC),
                 "9999-12-30T23:30:00-01:00", id="offsets-at-the-end"),
    pytest.param("0001-01-01T00:00:00-01:00", datetime(1, 1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00+01:00",
                 id="offsets-at-the-start"),
])
def test_filters_run_from_the_first_day_to_the_day_before_python_s_last(inside: str, start: datetime,
                                                                         outside: str) -> None:
    """A filter's end (the next midnight, or second) must exist: 9999-12-31 has none, nor has a moment before
    0001-01-01 a start."""
    parsed = dates.parse_filter(inside)
    assert parsed is not None and parsed.start == start and parsed.end > parsed.start
    with pytest.raises(dates.OutOfRange):
        dates.parse_filter(outside)


def test_the_clock_only_moves_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """An offset smaller than the one a process has (read before another process's advance) is ignored."""
    monkeypatch.setattr(dates, "_ahead", timedelta(0))
    assert abs(dates.now() - dates.real_now()) < timedelta(seconds=1)
    assert dates.move_ahead(3600)
    assert not dates.move_ahead(60) and not dates.move_ahead(3600)
    assert dates.ahead() == timedelta(hours=1)
    real = dates.real_now()
    assert timedelta(hours=1) <= dates.now() - real < timedelta(hours=1, seconds=1)


def test_rfc2822_writes_each_moment_as_email_utils_does_whatever_it_wrote_before() -> None:
    """``rfc2822`` remembers the second it wrote last: moments in that second, either side of it, naive ones
    (read back from SQLite, in UTC), other zones, and the ends of Python's calendar all read as the standard
    library writes them, in any order."""
    import email.utils

    moment = datetime(2026, 12, 6, 20, 1, 2, 999_999, tzinfo=UTC)
    moments = [
        moment, moment - timedelta(microseconds=999_999), moment + timedelta(microseconds=1),
        moment - timedelta(microseconds=1_000_000), moment.replace(tzinfo=None),
        moment.astimezone(timezone(timedelta(hours=2))),
        datetime(1, 1, 1), datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999),
        datetime(9999, 12, 31, 23, 59, 58, 999_999, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        moment,
    ]
    for each in [*moments, *reversed(moments)]:
        assert dates.rfc2822(each) == email.utils.format_datetime(dates.as_utc(each)), each
    assert dates.rfc2822(None) is None
