"""X-Twilio-Signature, checked against twilio-python's own RequestValidator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from loft.webhooks.signing import signature

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VOICE_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]


class MultiParams:
    """The multidict shape (Flask/Starlette ``getall``) RequestValidator reads repeated fields from."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in self.pairs])

    def __len__(self) -> int:
        return len(self.pairs)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def validates(token: str, url: str, pairs: list[tuple[str, str]], sig: str) -> bool:
    return bool(RequestValidator(token).validate(url, MultiParams(pairs), sig))


def test_signature_matches_twilio_python_test_vector() -> None:
    assert signature(TOKEN, URL, VOICE_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_of_repeated_field_matches_twilio_python_multidict_vector() -> None:
    pairs = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signature(TOKEN, URL, pairs) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_signature_ignores_parameter_order() -> None:
    assert signature(TOKEN, URL, list(reversed(VOICE_PARAMS))) == signature(TOKEN, URL, VOICE_PARAMS)


def test_signature_depends_on_token_url_and_values() -> None:
    base = signature(TOKEN, URL, VOICE_PARAMS)
    assert signature("54321", URL, VOICE_PARAMS) != base
    assert signature(TOKEN, URL + "&baz=3", VOICE_PARAMS) != base
    assert signature(TOKEN, URL, [*VOICE_PARAMS[:-1], ("To", "+18005551213")]) != base


@pytest.mark.parametrize(
    ("url", "pairs"),
    [
        pytest.param(URL, [], id="get-url-only"),
        pytest.param("http://example.com/sms?a=1&a=2", [], id="get-repeated-query-key"),
        pytest.param(URL, [("Body", "a"), ("Body", "b"), ("Body", "a")], id="repeated-key-duplicate-value"),
        pytest.param(URL, [("Body", ""), ("To", "")], id="empty-values"),
        pytest.param(URL, [("body", "x"), ("Body", "y"), ("BODY", "z"), ("_x", "1")], id="case-sensitive-names"),
        pytest.param(URL, [("Body", "héllo ж 😀 漢字"), ("From", "whatsapp:+14155550100")], id="unicode-values"),
        pytest.param(URL, [("Nämé", "ü"), ("名前", "値")], id="unicode-names"),
        pytest.param("https://例え.jp/ünï?q=ж", [("Body", "x")], id="unicode-url"),
        pytest.param(URL, [("Body", "a&b=c"), ("MediaUrl0", "https://x/y?z=1#f")], id="delimiter-characters"),
        pytest.param("http://127.0.0.1:8080/hook", [("A", "1")], id="explicit-port"),
        pytest.param(URL, [("Body", "line1\nline2\r\n\t")], id="control-characters"),
    ],
)
def test_signature_is_accepted_by_twilio_request_validator(url: str, pairs: list[tuple[str, str]]) -> None:
    assert validates(TOKEN, url, pairs, signature(TOKEN, url, pairs))


def test_signature_is_rejected_by_validator_when_a_value_changes() -> None:
    sig = signature(TOKEN, URL, VOICE_PARAMS)
    assert not validates(TOKEN, URL, [*VOICE_PARAMS[:-1], ("To", "+18005551213")], sig)


@given(
    token=st.text(min_size=1, max_size=40),
    pairs=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=15),
    query=st.sampled_from(["", "?a=1", "?a=1&a=2&b=%20x"]),
)
def test_signature_of_random_params_is_accepted_by_twilio_request_validator(
    token: str, pairs: list[tuple[str, str]], query: str
) -> None:
    url = "https://hooks.example.com/sms" + query
    assert validates(token, url, pairs, signature(token, url, pairs))
