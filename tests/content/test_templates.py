"""Content templates through the SDK (``client.content.v1.contents``): each of the seven types stored as given,
read back, listed, changed, deleted; every other account's template not found; responses checked against
``twilio_content_v1.json``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from tests.content.conftest import TEXT
from tests.messaging_services.conftest import refused
from tests.support import clients
from tests.support.server import LoftServer

#: One template of each type Loft checks, as a client writes it.
EACH_TYPE = [
    pytest.param({"twilio/text": {"body": "Hi {{1}}"}}, id="text"),
    pytest.param({"twilio/media": {"body": "Your ticket", "media": ["https://example.com/ticket/{{1}}.png"]}},
                 id="media"),
    pytest.param({"twilio/quick-reply": {"body": "Still coming?", "actions": [
        {"title": "Yes", "id": "yes"}, {"type": "QUICK_REPLY", "title": "No", "id": "no"}]}}, id="quick-reply"),
    pytest.param({"twilio/call-to-action": {"body": "Track it", "actions": [
        {"type": "URL", "title": "Track", "url": "https://example.com/t/{{1}}"},
        {"type": "PHONE_NUMBER", "title": "Call us", "phone": "+15005550006"},
        {"type": "COPY_CODE", "title": "Copy", "code": "SAVE10"}]}}, id="call-to-action"),
    pytest.param({"twilio/card": {"title": "Order {{1}}", "subtitle": "Shipped", "media": ["https://example.com/a.png"],
                                  "actions": [{"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks"},
                                              {"type": "URL", "title": "Open", "url": "https://example.com"}]},
                  "twilio/text": {"body": "Order {{1}} shipped"}}, id="card"),
    pytest.param({"twilio/carousel": {"body": "Pick one", "cards": [
        {"title": "Red", "body": "A red one", "media": "https://example.com/red.png",
         "actions": [{"type": "QUICK_REPLY", "title": "Red", "id": "red"}]},
        {"body": "A blue one", "media": "https://example.com/blue.png",
         "actions": [{"type": "URL", "title": "See", "url": "https://example.com/blue"}]}]}}, id="carousel"),
    pytest.param({"twilio/list-picker": {"body": "Choose a slot", "button": "Slots", "items": [
        {"id": "am", "item": "Morning", "description": "8 to 12"}, {"id": "pm", "item": "Afternoon"}]}},
        id="list-picker"),
]


@pytest.mark.parametrize("types", EACH_TYPE)
def test_each_type_is_stored_as_given(loft: LoftServer, client: Client, create: Callable[..., Any],
                                      types: dict[str, Any]) -> None:
    created = create(types, variables={"1": "A-1"})
    assert created.sid.startswith("HX") and created.account_sid == client.account_sid
    assert created.types == types
    assert created.variables == {"1": "A-1"} and created.language == "en"
    assert created.url == f"{loft.base_url}/v1/Content/{created.sid}"
    assert created.links == {"approval_create": f"{created.url}/ApprovalRequests/whatsapp",
                             "approval_fetch": f"{created.url}/ApprovalRequests"}
    assert client.content.v1.contents(created.sid).fetch().types == types


def test_a_template_is_listed_changed_and_deleted(client: Client, create: Callable[..., Any]) -> None:
    first, second = create(), create({"twilio/text": {"body": "Bye"}}, friendly_name=None)
    listed = [each.sid for each in client.content.v1.contents.list()]
    assert listed == [first.sid, second.sid]
    assert second.friendly_name is None
    assert [each.sid for each in client.content.v1.contents.list(page_size=1)] == listed  # paged, as Twilio's
    changed = client.content.v1.contents(first.sid).update(ContentList.ContentUpdateRequest(
        {"friendly_name": "renamed", "variables": {"1": "you"}}))
    assert (changed.friendly_name, changed.variables, changed.types) == ("renamed", {"1": "you"}, TEXT)
    assert client.content.v1.contents(second.sid).delete() is True
    assert [each.sid for each in client.content.v1.contents.list()] == [first.sid]
    assert refused(client.content.v1.contents(second.sid).fetch).status == 404


def test_another_account_s_template_is_not_found(client: Client, other_client: Client,
                                                 create: Callable[..., Any]) -> None:
    created = create()
    other = other_client.content.v1.contents(created.sid)
    for call in (other.fetch, other.delete, other.approval_fetch().fetch,
                 lambda: other.update(ContentList.ContentUpdateRequest({"friendly_name": "mine"}))):
        error = refused(call)
        assert (error.status, error.code) == (404, 20404)
    assert other_client.content.v1.contents.list() == []
    assert other_client.content.v1.content_and_approvals.list() == []
    assert client.content.v1.contents(created.sid).fetch().friendly_name == "test template"


def test_an_unknown_or_malformed_sid_is_not_found(client: Client) -> None:
    for sid in ("HX" + "0" * 32, "nonsense"):
        assert refused(client.content.v1.contents(sid).fetch).status == 404


def test_whatsapp_approval_is_granted_at_once_as_in_a_sandbox(client: Client, create: Callable[..., Any]) -> None:
    created = create()
    approvals = client.content.v1.contents(created.sid).approval_fetch()
    assert approvals.fetch().whatsapp == {}
    listed = client.content.v1.content_and_approvals.list()
    assert [(each.sid, each.approval_requests) for each in listed] == [(created.sid, {})]
    approval = client.content.v1.contents(created.sid).approval_create.create(_approval("order_update", "UTILITY"))
    assert (approval.name, approval.category, approval.status, approval.content_type) == (
        "order_update", "UTILITY", "approved", "twilio/text")
    assert approvals.fetch().whatsapp["status"] == "approved"
    assert client.content.v1.content_and_approvals.list()[0].approval_requests["name"] == "order_update"
    again = refused(lambda: client.content.v1.contents(created.sid).approval_create.create(
        _approval("order_update", "UTILITY")))
    assert (again.status, again.code) == (400, 20001)


def _approval(name: str | None, category: str | None) -> ApprovalCreateList.ContentApprovalRequest:
    return ApprovalCreateList.ContentApprovalRequest({"name": name, "category": category})


@pytest.mark.parametrize(("name", "category", "field"), [
    pytest.param(None, "UTILITY", "name", id="no-name"),
    pytest.param("Order Update", "UTILITY", "name", id="bad-name"),
    pytest.param("order_update", None, "category", id="no-category"),
    pytest.param("order_update", "SPAM", "category", id="bad-category"),
])
def test_a_bad_approval_request_is_refused(client: Client, create: Callable[..., Any], name: str | None,
                                           category: str | None, field: str) -> None:
    created = create()
    error = refused(lambda: client.content.v1.contents(created.sid).approval_create.create(_approval(name, category)))
    assert (error.status, error.code) == (400, 20001) and field in error.msg


def test_legacy_content_is_an_empty_list(client: Client, create: Callable[..., Any]) -> None:
    create()
    assert client.content.v1.legacy_contents.list() == []


@pytest.mark.parametrize(("body", "field"), [
    pytest.param({"types": TEXT}, "language", id="no-language"),
    pytest.param({"language": "en"}, "types", id="no-types"),
    pytest.param({"language": "English", "types": TEXT}, "language", id="bad-language"),
    pytest.param({"language": "en", "types": {}}, "types", id="empty-types"),
])
def test_a_template_needs_a_language_and_types(client: Client, body: dict[str, Any], field: str) -> None:
    error = refused(lambda: client.content.v1.contents.create(ContentList.ContentCreateRequest(body)))
    assert (error.status, error.code) == (400, 20001) and field in error.msg, error.msg


@pytest.mark.parametrize("body", [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"[1, 2]", id="not-an-object"),
    pytest.param(b'{"language": "en\\u0000"}', id="nul"),
    pytest.param(b"[" * 100_000, id="nested-too-deeply"),
    pytest.param(b'{"language": "en", "types": {"twilio/text": {"body": "\\ud800"}}}', id="lone-surrogate"),
    pytest.param('{"language": "\u00e9"}'.encode("latin-1"), id="not-utf-8"),
])
def test_a_body_that_is_not_a_json_object_is_refused(loft: LoftServer, account: tuple[str, str], body: bytes) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        answer = clients.checked(http.post("/v1/Content", content=body, headers={"Content-Type": "application/json"}))
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)
