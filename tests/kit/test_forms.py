from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import MultiDict

from loft.kit.forms import Form, pairs


def test_a_form_reads_like_starlette_s_multidict() -> None:
    pairs = [("To", "+15558675310"), ("MediaUrl", "https://a.example/1"), ("MediaUrl", "https://a.example/2"),
             ("Body", "")]
    form, reference = Form(pairs), MultiDict(pairs)
    for key in ("To", "MediaUrl", "Body", "From"):
        assert form.get(key) == reference.get(key)
        assert form.get(key, "absent") == reference.get(key, "absent")
        assert form.getlist(key) == reference.getlist(key)
        assert (key in form) == (key in reference)
    assert form.get("MediaUrl") == "https://a.example/2"  # the last of a repeated key, as Starlette gives it
    assert form["To"] == "+15558675310"


@pytest.mark.parametrize("body", [
    "", "&", "&&To=%2B1555&&", "To=%2B15558675310&From=%2B15005550006&Body=Hello+there%21",
    "Body=caf%C3%A9+%E2%82%AC", "Body=%E2%82", "Body=100%", "Body=%zz%2", "Body=a=b=c", "flag", "=value",
    "Media+Url=x", "K%3Dey=v%26alue", "To=1;From=2", "Body=%2B+%20+",
])
def test_a_body_is_read_as_parse_qsl_reads_it(body: str) -> None:
    assert pairs(body) == parse_qsl(body, keep_blank_values=True)


@given(st.text(alphabet="ab=&+%;2C3E89zé€ ", max_size=40))
def test_any_body_is_read_as_parse_qsl_reads_it(body: str) -> None:
    assert pairs(body) == parse_qsl(body, keep_blank_values=True)
