from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import MultiDict
from starlette.requests import Request

from loft.errors import InvalidParameter
from loft.kit import forms
from loft.kit.forms import Form, pairs


def test_a_form_reads_like_starlette_s_multidict() -> None:
    pairs = [("To", "+15558675310"), ("MediaUrl", "https://a.example/1"), ("MediaUrl", "https://a.example/2"),
             ("Body", "")]
    reference = MultiDict(pairs)
    for form in (Form(pairs), Form.of_pairs(list(pairs))):  # (how a body's parameters are made into one)
        for key in ("To", "MediaUrl", "Body", "From"):
            assert form.get(key) == reference.get(key)
            assert form.get(key, "absent") == reference.get(key, "absent")
            assert form.getlist(key) == reference.getlist(key)
            assert (key in form) == (key in reference)
        assert form.get("MediaUrl") == "https://a.example/2"  # the last of a repeated key, as Starlette gives it
        assert form["To"] == "+15558675310"
        assert form.multi_items() == reference.multi_items() and list(form.items()) == list(reference.items())
        assert len(form) == len(reference) and list(form) == list(reference)
        assert form.keys() == reference.keys() and form.keys() <= {"To", "MediaUrl", "Body"}
    assert Form({"To": "+15558675310"}).multi_items() == [("To", "+15558675310")]  # a mapping: its pairs
    assert Form().getlist("MediaUrl") == [] and Form().get("To", "") == ""


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


def _request(messages: list[dict[str, Any]]) -> Request:
    """A POST whose ASGI ``receive`` gives ``messages``, then waits forever (as a server does once the body is in)."""
    given = iter(messages)

    async def receive() -> dict[str, Any]:
        try:
            return next(given)
        except StopIteration:
            await asyncio.Event().wait()
            raise AssertionError("unreachable") from None

    return Request({"type": "http", "method": "POST", "path": "/", "headers": []}, receive)


def test_a_body_read_once_is_the_form_read_reads_whatever_its_chunks() -> None:
    """``read_once`` (the create's) reads the body from ``receive`` itself: in one message or several, empty
    chunks included, it gives the form ``read`` gives."""
    body = b"To=%2B14155550100&From=%2B14155550111&Body=caf%C3%A9+%26+more&Empty="
    whole = asyncio.run(forms.read(_request([{"type": "http.request", "body": body}])))
    for cuts in ([], [10], [0, 5, 33], [len(body)]):
        edges = [0, *cuts, len(body)]
        messages = [{"type": "http.request", "body": body[a:b], "more_body": True} for a, b in zip(edges, edges[1:])]
        messages[-1]["more_body"] = False
        once = asyncio.run(forms.read_once(_request(messages)))
        assert list(once.multi_items()) == list(whole.multi_items()), cuts
    assert whole["Body"] == "café & more" and whole["Empty"] == ""


def test_a_client_gone_before_the_end_of_its_body_is_20001_not_a_traceback() -> None:
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": b"To=%2B1415", "more_body": True},
                                      {"type": "http.disconnect"}]
    with pytest.raises(InvalidParameter) as raised:
        asyncio.run(forms.read_once(_request(messages)))
    assert raised.value.code == 20001 and "closed the connection" in raised.value.message


def test_a_body_read_once_is_checked_as_read_checks_it() -> None:
    for body, expected in ((b"Body=\xff", "not valid UTF-8"), (b"Body=a%00b", "NUL")):
        with pytest.raises(InvalidParameter) as raised:
            asyncio.run(forms.read_once(_request([{"type": "http.request", "body": body}])))
        assert expected in raised.value.message
