from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loft.kit import dates


@pytest.mark.parametrize("text", [
    pytest.param("9999-12-31", id="last-day-of-python"),
    pytest.param("9999-12-31T00:00:00Z", id="instant-on-the-last-day"),
    pytest.param("9999-12-30T23:30:00-01:00", id="offset-past-the-last-day"),
    pytest.param("0001-01-01T00:00:00+01:00", id="offset-before-the-first-day"),
])
def test_a_date_whose_end_python_cannot_reach_is_out_of_range(text: str) -> None:
    with pytest.raises(dates.OutOfRange):
        dates.parse_filter(text)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("9999-12-30", datetime(9999, 12, 30, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)),
    ("0001-01-01", datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)),
    ("9999-12-31T00:30:00+01:00", datetime(9999, 12, 30, 23, 30, tzinfo=UTC),
     datetime(9999, 12, 30, 23, 30, 1, tzinfo=UTC)),
])
def test_the_first_and_last_days_are_filters_with_an_end(text: str, start: datetime, end: datetime) -> None:
    parsed = dates.parse_filter(text)
    assert parsed is not None and (parsed.start, parsed.end) == (start, end)


@pytest.mark.parametrize("text", ["2024-02-30", "0000-01-01", "10000-01-01", "yesterday", ""])
def test_what_is_not_a_date_is_none(text: str) -> None:
    assert dates.parse_filter(text) is None
