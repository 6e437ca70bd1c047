"""The renderer (loft/content/render.py), which sending content will use: placeholders filled from the send's
variables, then the template's defaults, in every text of every type and never in the names of things; 21656 for
a ``ContentVariables`` that is not a JSON object of non-empty strings, or a placeholder left without a value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from loft.content import render
from loft.errors import InvalidParameter


@dataclass(frozen=True)
class Template:
    types: Mapping[str, Any]
    variables: Mapping[str, str] = field(default_factory=dict)


CARD = {"twilio/card": {"title": "Order {{1}}", "subtitle": "for {{name}}", "media": ["https://x.test/{{1}}.png"],
                        "actions": [{"type": "URL", "title": "Track {{1}}", "url": "https://x.test/t/{{1}}"},
                                    {"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks_{{1}}"}]},
        "twilio/text": {"body": "Order {{ 1 }} for {{name}}"}}


def test_every_text_of_every_type_is_filled_in() -> None:
    rendered = render.render(Template(CARD), {"1": "A7", "name": "Ada"})
    assert rendered == {
        "twilio/card": {"title": "Order A7", "subtitle": "for Ada", "media": ["https://x.test/A7.png"],
                        "actions": [{"type": "URL", "title": "Track A7", "url": "https://x.test/t/A7"},
                                    {"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks_A7"}]},
        "twilio/text": {"body": "Order A7 for Ada"}}


def test_the_template_s_defaults_fill_what_the_send_leaves_out() -> None:
    template = Template({"twilio/text": {"body": "Hi {{1}}, {{2}}"}}, {"1": "there", "2": "welcome"})
    assert render.render(template, {"2": "bye"}) == {"twilio/text": {"body": "Hi there, bye"}}
    assert render.render(template) == {"twilio/text": {"body": "Hi there, welcome"}}


def test_values_for_unused_names_are_ignored_and_the_template_is_not_changed() -> None:
    template = Template({"twilio/text": {"body": "Hi {{1}}"}})
    assert render.render(template, {"1": "Ada", "2": "unused"}) == {"twilio/text": {"body": "Hi Ada"}}
    assert template.types == {"twilio/text": {"body": "Hi {{1}}"}}


def test_a_value_is_put_in_as_it_is_never_read_as_a_placeholder() -> None:
    template = Template({"twilio/text": {"body": "{{1}} and {{2}}"}})
    assert render.render(template, {"1": "{{2}}", "2": "two"}) == {"twilio/text": {"body": "{{2}} and two"}}


def test_a_placeholder_without_a_value_is_21656_naming_it() -> None:
    with pytest.raises(InvalidParameter) as info:
        render.render(Template({"twilio/text": {"body": "{{name}} {{2}} {{10}}"}}), {"name": "Ada"})
    assert info.value.code == 21656 and "'2'" in info.value.message


def test_the_used_names_are_found_everywhere_but_in_names_of_things() -> None:
    assert render.used(CARD) == {"1", "name"}
    assert render.used({"twilio/card": {"title": "T", "actions": [{"type": "{{x}}", "title": "a"}]}}) == set()


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param(None, {}, id="absent"),
    pytest.param("", {}, id="empty"),
    pytest.param('{"1": "Ada", "name": "Bo"}', {"1": "Ada", "name": "Bo"}, id="strings"),
    pytest.param('{"1": 42}', {"1": "42"}, id="number-as-text"),
])
def test_content_variables_are_a_json_object_of_strings(text: str | None, expected: dict[str, str]) -> None:
    assert render.variables(text) == expected


@pytest.mark.parametrize("text", [
    pytest.param("{1: Ada}", id="not-json"),
    pytest.param('["Ada"]', id="not-an-object"),
    pytest.param('{"1": ""}', id="empty-value"),
    pytest.param('{"1": null}', id="null-value"),
    pytest.param('{"1": true}', id="boolean-value"),
    pytest.param('{"1": {"a": "b"}}', id="object-value"),
    pytest.param('{"first name": "Ada"}', id="bad-name"),
])
def test_bad_content_variables_are_21656(text: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        render.variables(text)
    assert info.value.code == 21656


@pytest.mark.parametrize(("text", "good"), [
    pytest.param("Hi {{1}} and {{ name_2 }}", True, id="well-formed"),
    pytest.param("Just text, {braces} too", True, id="single-braces"),
    pytest.param("Hi {{}}", False, id="empty-name"),
    pytest.param("Hi {{first name}}", False, id="space-in-name"),
    pytest.param("Hi {{1}", False, id="unclosed"),
    pytest.param("Hi 1}}", False, id="unopened"),
])
def test_placeholders_are_checked_when_a_template_is_made(text: str, good: bool) -> None:
    if good:
        render.check_placeholders(text, "body")
    else:
        with pytest.raises(InvalidParameter, match="body has a malformed placeholder"):
            render.check_placeholders(text, "body")
