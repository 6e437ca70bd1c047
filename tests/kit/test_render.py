"""loft.kit.render's JSON answers carry the headers Starlette's own Response would give them."""

from __future__ import annotations

import orjson
import pytest
from starlette.responses import Response

from loft.errors import TwilioApiError
from loft.kit import render


@pytest.mark.parametrize("status", [200, 201, 400, 404, 500])
@pytest.mark.parametrize("data", [{}, {"sid": "SM1", "body": "héllo ✓"}, {"nested": {"a": [1, 2]}}])
def test_a_json_answer_has_starlette_s_headers_and_body(status: int, data: dict[str, object]) -> None:
    made = render.json_response(data, status)
    starlette = Response(orjson.dumps(data), status, media_type="application/json; charset=utf-8")
    assert (made.status_code, made.body, made.raw_headers) == (status, starlette.body, starlette.raw_headers)


def test_a_json_answer_with_headers_of_its_own_has_them_as_starlette_gives_them() -> None:
    error = TwilioApiError(20003, "Authenticate", 401)
    made = render.error("json", error)
    starlette = Response(orjson.dumps(error.body()), 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'},
                         media_type="application/json; charset=utf-8")
    assert made.raw_headers == starlette.raw_headers
    assert made.headers["www-authenticate"] == 'Basic realm="Twilio API"'
