from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
