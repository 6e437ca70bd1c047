from __future__ import annotations

import pytest

from loft.errors import InvalidParameter
from loft.kit import paging


@pytest.mark.parametrize("query", [
    pytest.param({"Page": "99999999999999999999"}, id="20-digit-page"),
    pytest.param({"Page": str(paging.MAX_OFFSET // 1000), "PageSize": "1000"}, id="offset-past-int64"),
    pytest.param({"Page": "-1"}, id="negative"),
])
def test_a_page_whose_offset_a_database_cannot_take_is_refused(query: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter) as refused:
        paging.parse(query)
    assert refused.value.code == 20001 and refused.value.status == 400
    assert "Page must be between 0 and" in refused.value.message


def test_the_last_page_starts_at_an_offset_a_database_can_take() -> None:
    for size in (1, 50, 1000):
        request = paging.parse({"Page": str(paging.last_page(size)), "PageSize": str(size)})
        assert request.offset + request.size <= paging.MAX_OFFSET
