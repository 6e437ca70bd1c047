"""Liquid message templates with Braze's filters, and how recipient rows become messages."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from loft.terminal import bulk
from loft.terminal.client import TerminalError
from loft.terminal.templates import Template, TemplateProblem


def render(source: str, **variables: object) -> str:
    return Template(source).render(variables)


@pytest.mark.parametrize(("source", "variables", "expected"), [
    pytest.param("{{ v | url_param_escape }}", {"v": "a b&c=d/e?f#g"}, "a%20b%26c%3Dd%2Fe%3Ff%23g", id="url_param_escape"),
    pytest.param("{{ v | url_param_escape }}", {"v": "café-ok_~."}, "caf%C3%A9-ok_~.", id="url_param_escape-unicode"),
    pytest.param("{{ v | url_escape }}", {"v": "https://x.test/a b?q=<1>&r=2"}, "https://x.test/a%20b?q=%3C1%3E&r=2",
                 id="url_escape-keeps-delimiters"),
    pytest.param("{{ v | url_encode }}", {"v": "a b&c"}, "a+b%26c", id="standard-url_encode"),
    pytest.param('{"text": "{{ v | json_escape }}"}', {"v": 'say "hi"\nbye\\'}, '{"text": "say \\"hi\\"\\nbye\\\\"}',
                 id="json_escape"),
    pytest.param("{{ v | md5 }}", {"v": "ada@example.com"}, hashlib.md5(b"ada@example.com").hexdigest(), id="md5"),
    pytest.param("{{ v | sha1 }}", {"v": "ada"}, hashlib.sha1(b"ada").hexdigest(), id="sha1"),
    pytest.param("{{ v | sha2 }}", {"v": "ada"}, hashlib.sha256(b"ada").hexdigest(), id="sha2"),
    pytest.param("{{ v | hmac_sha256: 'k3y' }}", {"v": "ada"}, hmac.new(b"k3y", b"ada", "sha256").hexdigest(),
                 id="hmac_sha256"),
    pytest.param("{{ v | hmac_sha1: 'k3y' }}", {"v": "ada"}, hmac.new(b"k3y", b"ada", "sha1").hexdigest(), id="hmac_sha1"),
    pytest.param("{{ v | number_with_delimiter }}", {"v": "1234567"}, "1,234,567", id="number_with_delimiter"),
    pytest.param("{{ v | number_with_delimiter }}", {"v": "-1234.50"}, "-1,234.50", id="number_with_delimiter-decimal"),
    pytest.param("{{ v | number_with_delimiter }}", {"v": 999}, "999", id="number_with_delimiter-small"),
    pytest.param("{{ v | number_with_delimiter }}", {"v": "n/a"}, "n/a", id="number_with_delimiter-not-a-number"),
    pytest.param("{{ h | property_accessor: k }}", {"h": {"gold": "20%"}, "k": "gold"}, "20%", id="property_accessor"),
    pytest.param("{{ d | time_zone: 'America/New_York' | date: '%Y-%m-%d %H:%M' }}", {"d": "2025-01-15T17:30:00Z"},
                 "2025-01-15 12:30", id="time_zone"),
    pytest.param("{{ v | base64_encode }}", {"v": "ada"}, "YWRh", id="standard-base64_encode"),
    pytest.param("Hi {{${first_name}}}, plan {{custom_attribute.${plan} | upcase}}", {"first_name": "Ada", "plan": "pro"},
                 "Hi Ada, plan PRO", id="braze-attribute-syntax"),
    pytest.param("Total ${price}", {}, "Total ${price}", id="dollar-braces-outside-markup-is-text"),
    pytest.param("{% if n > '1' %}many{% else %}one{% endif %} {{ name | capitalize | truncate: 4 }}",
                 {"n": "2", "name": "grace"}, "many G...", id="standard-tags-and-filters"),
    pytest.param("Hi {{ first_name | default: 'there' }}", {}, "Hi there", id="default-on-undefined"),
    pytest.param("Hi {{ first_name | default: 'there' }}", {"first_name": ""}, "Hi there", id="default-on-empty-cell"),
])
def test_filters_render_as_braze_does(source: str, variables: dict[str, object], expected: str) -> None:
    assert Template(source).render(variables) == expected


def test_time_zone_of_now_is_in_that_zone() -> None:
    assert render("{{ 'now' | time_zone: 'Asia/Tokyo' | date: '%z' }}") == "+0900"


def test_an_undefined_variable_is_an_error_in_strict_mode_and_nothing_in_lenient_mode() -> None:
    with pytest.raises(TemplateProblem, match="'first_name' is undefined"):
        render("Hi {{ first_name }}")
    assert Template("Hi {{ first_name }}!", strict=False).render({}) == "Hi !"


@pytest.mark.parametrize("source", [
    pytest.param("Hi {% if %}", id="if-without-expression"),
    pytest.param("Hi {{ name ", id="unclosed-output"),
    pytest.param("{% for x in xs %}", id="unclosed-block"),
])
def test_a_template_that_is_not_liquid_is_refused_when_parsed(source: str) -> None:
    with pytest.raises(TemplateProblem, match="not valid Liquid"):
        Template(source)


@pytest.mark.parametrize("source", [
    pytest.param("{{ v | hmac_sha256 }}", id="hmac-without-key"),
    pytest.param("{{ v | time_zone: 'Mars/Olympus' }}", id="unknown-time-zone"),
    pytest.param("{{ v | property_accessor: 'k' }}", id="property-accessor-on-a-string"),
])
def test_a_filter_used_wrongly_is_a_render_error(source: str) -> None:
    with pytest.raises(TemplateProblem):
        render(source, v="x")


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_recipients_every_column_is_a_variable_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _csv(tmp_path / "r.csv", "\ufeffFirst_Name , TO ,city\nAda, +15550030001 ,Paris\n,,\nGrace,+15550030002,\n")
    recipients = bulk.read_recipients(path)
    assert [(r.row, r.to) for r in recipients] == [(2, "+15550030001"), (4, "+15550030002")]
    assert recipients[0].variables == {"First_Name": "Ada", "TO": "+15550030001", "city": "Paris"}


def test_recipients_prefer_the_phone_column_over_to(tmp_path: Path) -> None:
    path = _csv(tmp_path / "r.csv", "to,phone\nfriend,+15550030003\n")
    assert [r.to for r in bulk.read_recipients(path)] == ["+15550030003"]


def test_a_file_without_a_phone_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TerminalError, match="no 'phone' or 'to' column .*its columns: name, city"):
        bulk.read_recipients(_csv(tmp_path / "r.csv", "name,city\nAda,Paris\n"))


def test_prepare_refuses_rows_without_a_number_or_that_do_not_render(tmp_path: Path) -> None:
    recipients = bulk.read_recipients(_csv(tmp_path / "r.csv",
                                           "phone,name,code\n+15550030004,Ada,A1\n,Bob,B2\n+15550030005,Cy\n"))
    prepared = bulk.prepare(recipients, Template("Hi {{ name }} {{ code }}"),
                            [Template("https://cdn.test/{{ code | url_param_escape }}.png")])
    assert prepared.ready == [bulk.Outgoing(2, "+15550030004", "Hi Ada A1", ("https://cdn.test/A1.png",))]
    assert [(o.row, o.recipient, o.status, o.error_code) for o in prepared.refused] == [
        (3, "", "refused", 21604), (4, "+15550030005", "refused", None)]
    assert "'code' is undefined" in prepared.refused[1].error_message


def test_report_is_written_in_the_order_of_the_file(tmp_path: Path) -> None:
    report = tmp_path / "deep" / "report.csv"
    bulk.write_report(report, [
        bulk.Outcome(3, "+15550030007", "refused", error_code=21610, error_message="Attempt to send to unsubscribed recipient"),
        bulk.Outcome(2, "+15550030006", "accepted", message_sid="SM" + "a" * 32),
    ])
    assert report.read_text().splitlines() == [
        "row,recipient,status,message_sid,error_code,error_message",
        f"2,+15550030006,accepted,SM{'a' * 32},,",
        "3,+15550030007,refused,,21610,Attempt to send to unsubscribed recipient",
    ]
