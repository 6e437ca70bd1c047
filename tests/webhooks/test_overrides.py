"""Connection overrides in a webhook URL's fragment (``#ct=…&rt=…&tt=…&rc=…&rp=…``)."""

from __future__ import annotations

import pytest

from loft.webhooks.overrides import ConnectionPolicy, parse

ALL = frozenset({"ct", "rt", "4xx", "5xx"})


def test_parse_without_fragment_gives_twilio_defaults() -> None:
    assert parse("https://h/p?x=1") == ("https://h/p?x=1", ConnectionPolicy())
    assert ConnectionPolicy() == ConnectionPolicy(5.0, 15.0, 15.0, 1, frozenset({"ct"}))


def test_parse_reads_every_setting_and_strips_the_fragment() -> None:
    url, policy = parse("https://u:p@h/p?x=1#ct=1000&rt=3000&tt=10000&rc=2&rp=ct,rt,4xx,5xx&e=dublin&sni=y")
    assert url == "https://u:p@h/p?x=1"
    assert policy == ConnectionPolicy(1.0, 3.0, 10.0, 2, ALL)


def test_parse_empty_fragment_gives_defaults() -> None:
    assert parse("https://h/p#") == ("https://h/p", ConnectionPolicy())


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        pytest.param("ct=1", ConnectionPolicy(connect_timeout=0.1), id="ct-below-min"),
        pytest.param("ct=60000", ConnectionPolicy(connect_timeout=10.0), id="ct-above-max"),
        pytest.param("rt=99999", ConnectionPolicy(read_timeout=15.0), id="rt-above-max"),
        pytest.param("rt=0", ConnectionPolicy(read_timeout=0.1), id="rt-zero"),
        pytest.param("tt=-5", ConnectionPolicy(total_timeout=0.1), id="tt-negative"),
        pytest.param("rc=9", ConnectionPolicy(retry_count=5), id="rc-above-max"),
        pytest.param("rc=-1", ConnectionPolicy(retry_count=0), id="rc-negative"),
    ],
)
def test_parse_clamps_out_of_range_numbers(fragment: str, expected: ConnectionPolicy) -> None:
    assert parse("https://h/p#" + fragment)[1] == expected


@pytest.mark.parametrize(
    "fragment",
    [
        pytest.param("ct=fast", id="ct-word"),
        pytest.param("ct=1.5", id="ct-decimal"),
        pytest.param("ct=1_000", id="ct-underscore"),
        pytest.param("ct=", id="ct-empty"),
        pytest.param("ct", id="ct-no-value"),
        pytest.param("rc=two", id="rc-word"),
        pytest.param("rp=", id="rp-empty"),
        pytest.param("rp=ct,sometimes", id="rp-unknown-class"),
        pytest.param("rp=,", id="rp-only-commas"),
    ],
)
def test_parse_keeps_default_for_malformed_value(fragment: str) -> None:
    assert parse("https://h/p#" + fragment)[1] == ConnectionPolicy()


def test_parse_ignores_unknown_keys_edge_and_sni() -> None:
    assert parse("https://h/p#zz=1&e=tokyo&sni=n&&=3")[1] == ConnectionPolicy()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("all", ALL, id="all"),
        pytest.param("4xx", frozenset({"4xx"}), id="single"),
        pytest.param("rt,5xx", frozenset({"rt", "5xx"}), id="list"),
        pytest.param("ct,all", ALL, id="all-with-others"),
        pytest.param("CT, RT", frozenset({"ct", "rt"}), id="case-and-spaces"),
        pytest.param("ct%2C4xx", frozenset({"ct", "4xx"}), id="percent-encoded-comma"),
    ],
)
def test_parse_reads_retry_policy(value: str, expected: frozenset[str]) -> None:
    assert parse("https://h/p#rp=" + value)[1].retry_on == expected


def test_parse_uses_last_of_repeated_keys_and_keeps_other_settings() -> None:
    policy = parse("https://h/p#rc=3&ct=bad&rc=0")[1]
    assert policy == ConnectionPolicy(retry_count=0)
