"""Usage records are rendered a page at a time: the periods from the n-th on are those of the whole list."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from loft.usage import service

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


@given(start=days, length=st.integers(-40, 800), granularity=st.sampled_from([None, "day", "month", "year"]),
       data=st.data())
def test_skipping_periods_gives_the_tail_of_the_whole_list(start: date, length: int, granularity: service.Granularity
                                                           | None, data: st.DataObject) -> None:
    end = start + timedelta(days=length)
    whole = list(service._periods(start, end, granularity))
    assert service._period_count(start, end, granularity) == len(whole)
    skip = data.draw(st.integers(0, len(whole)))
    assert list(service._periods(start, end, granularity, skip=skip)) == whole[skip:]
