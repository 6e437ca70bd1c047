"""A bad template is a 400 (20001) naming the field, as a path into the body: every rule of
loft/content/types.py, through the SDK where its models can say it, raw JSON where they cannot (fields the SDK does
not know, values of the wrong JSON type)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from twilio.rest import Client

from tests.content.conftest import request
from tests.messaging_services.conftest import refused
from tests.support import clients
from tests.support.server import LoftServer

_URL = {"type": "URL", "title": "Open", "url": "https://example.com"}
_CARD = {"body": "One", "media": "https://example.com/1.png", "actions": [_URL]}

BAD = [
    pytest.param({"twilio/text": {}}, "types.twilio/text.body is required", id="text-without-body"),
    pytest.param({"twilio/text": {"body": "  "}}, "types.twilio/text.body must not be empty", id="text-empty"),
    pytest.param({"twilio/text": {"body": "x" * 1601}}, "types.twilio/text.body is 1601 characters", id="text-long"),
    pytest.param({"twilio/text": {"body": "Hi {{first name}}"}}, "types.twilio/text.body has a malformed placeholder",
                 id="malformed-placeholder"),
    pytest.param({"twilio/text": {"body": "Hi {{1}"}}, "types.twilio/text.body has a malformed placeholder",
                 id="unclosed-placeholder"),
    pytest.param({"twilio/media": {"body": "No media"}}, "types.twilio/media.media is required", id="media-missing"),
    pytest.param({"twilio/media": {"media": []}}, "types.twilio/media.media must not be empty", id="media-empty"),
    pytest.param({"twilio/media": {"media": ["https://example.com/x.png"] * 11}},
                 "types.twilio/media.media holds 11 entries", id="media-too-many"),
    pytest.param({"twilio/quick-reply": {"body": "Yes?"}}, "types.twilio/quick-reply.actions is required",
                 id="quick-reply-no-actions"),
    pytest.param({"twilio/quick-reply": {"body": "Yes?", "actions": [{"id": "y"}]}},
                 "types.twilio/quick-reply.actions[0].title is required", id="quick-reply-no-title"),
    pytest.param({"twilio/quick-reply": {"body": "Yes?", "actions": [{"title": "Y", "type": "URL"}]}},
                 "types.twilio/quick-reply.actions[0].type must be one of QUICK_REPLY", id="quick-reply-type"),
    pytest.param({"twilio/call-to-action": {"body": "Go", "actions": [{"title": "Open"}]}},
                 "types.twilio/call-to-action.actions[0].type is required", id="cta-no-type"),
    pytest.param({"twilio/call-to-action": {"body": "Go", "actions": [{"type": "URL", "title": "Open"}]}},
                 "types.twilio/call-to-action.actions[0].url is required", id="cta-url-without-url"),
    pytest.param({"twilio/call-to-action": {"body": "Go", "actions": [{"type": "PHONE_NUMBER", "title": "Call"}]}},
                 "types.twilio/call-to-action.actions[0].phone is required", id="cta-phone-without-phone"),
    pytest.param({"twilio/call-to-action": {"body": "Go", "actions": [{"type": "FAX", "title": "Fax"}]}},
                 "types.twilio/call-to-action.actions[0].type must be one of", id="cta-unknown-type"),
    pytest.param({"twilio/card": {"subtitle": "No title"}}, "types.twilio/card.title is required", id="card-no-title"),
    pytest.param({"twilio/card": {"title": "Alone"}}, "types.twilio/card needs a subtitle, media or actions",
                 id="card-title-only"),
    pytest.param({"twilio/card": {"title": "T", "actions": [{"type": "COPY_CODE", "title": "Copy"}]}},
                 "types.twilio/card.actions[0].code is required", id="card-copy-code-without-code"),
    pytest.param({"twilio/card": {"title": "T", "actions": [{**_URL, "webview_size": "HUGE"}]}},
                 "types.twilio/card.actions[0].webview_size must be one of TALL, FULL, HALF, NONE",
                 id="card-webview-size"),
    pytest.param({"twilio/carousel": {"cards": [_CARD]}}, "types.twilio/carousel.body is required",
                 id="carousel-no-body"),
    pytest.param({"twilio/carousel": {"body": "Pick", "cards": [_CARD] * 11}},
                 "types.twilio/carousel.cards holds 11 entries", id="carousel-too-many"),
    pytest.param({"twilio/carousel": {"body": "Pick", "cards": [{**_CARD, "media": None}]}},
                 "types.twilio/carousel.cards[0].media is required", id="carousel-card-no-media"),
    pytest.param({"twilio/carousel": {"body": "Pick", "cards": [{**_CARD, "actions": [_URL] * 3}]}},
                 "types.twilio/carousel.cards[0].actions holds 3 entries", id="carousel-card-three-buttons"),
    pytest.param({"twilio/carousel": {"body": "Pick", "cards": [
        {**_CARD, "actions": [{"type": "COPY_CODE", "title": "C", "code": "X"}]}]}},
        "types.twilio/carousel.cards[0].actions[0].type must be one of URL, PHONE_NUMBER, QUICK_REPLY",
        id="carousel-action-type"),
    pytest.param({"twilio/list-picker": {"body": "Pick", "items": [{"id": "a", "item": "A"}]}},
                 "types.twilio/list-picker.button is required", id="list-picker-no-button"),
    pytest.param({"twilio/list-picker": {"body": "Pick", "button": "B", "items": [{"id": "a"}]}},
                 "types.twilio/list-picker.items[0].item is required", id="list-picker-item-without-text"),
]


@pytest.mark.parametrize(("types", "message"), BAD)
def test_a_bad_template_is_refused_naming_the_field(client: Client, types: dict[str, Any], message: str) -> None:
    error = refused(lambda: client.content.v1.contents.create(request(types)))
    assert (error.status, error.code) == (400, 20001)
    assert message in error.msg, error.msg
    assert client.content.v1.contents.list() == []


RAW = [
    pytest.param({"types": {"twilio/text": {"body": "Hi", "colour": "red"}}},
                 "types.twilio/text.colour is not a field", id="unknown-field"),
    pytest.param({"types": {"twilio/fax": {"body": "Hi"}}}, "types.twilio/fax is not a content type",
                 id="unknown-type"),
    pytest.param({"types": {"twilio/text": {"body": 7}}}, "types.twilio/text.body must be a string",
                 id="body-not-a-string"),
    pytest.param({"types": {"twilio/text": "Hi"}}, "types.twilio/text must be an object", id="type-not-an-object"),
    pytest.param({"types": {"twilio/quick-reply": {"body": "Hi", "actions": {"title": "Y"}}}},
                 "types.twilio/quick-reply.actions must be a list", id="actions-not-a-list"),
    pytest.param({"types": ["twilio/text"]}, "types must be an object", id="types-not-an-object"),
    pytest.param({"types": {"twilio/text": {"body": "Hi"}}, "variables": {"1": ""}},
                 "variables: the value of '1' must not be empty", id="empty-default"),
    pytest.param({"types": {"twilio/text": {"body": "Hi"}}, "variables": {"first name": "Ada"}},
                 "variables: 'first name' is not a variable name", id="bad-variable-name"),
    pytest.param({"types": {"twilio/text": {"body": "Hi"}}, "variables": {"1": ["Ada"]}},
                 "variables: the value of '1' must be a string", id="default-not-a-string"),
    pytest.param({"types": {"twilio/text": {"body": "Hi"}}, "friendly_name": "x" * 256},
                 "friendly_name must be a string of at most 255", id="long-friendly-name"),
    pytest.param({"types": {"twilio/location": {"latitude": 1, "longitude": 2}}},
                 "twilio/location (WhatsApp's) is not available in Loft", id="whatsapp-type"),
]


@pytest.mark.parametrize(("body", "message"), RAW)
def test_a_bad_raw_body_is_refused_naming_the_field(loft: LoftServer, account: tuple[str, str],
                                                    body: dict[str, Any], message: str) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        answer = clients.checked(http.post("/v1/Content", json={"language": "en", **body}))
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)
    assert message in answer.json()["message"], answer.json()["message"]


def test_an_update_is_checked_as_a_create(client: Client) -> None:
    from twilio.rest.content.v1.content import ContentList
    created = client.content.v1.contents.create(request({"twilio/text": {"body": "Hi"}}))
    error = refused(lambda: client.content.v1.contents(created.sid).update(ContentList.ContentUpdateRequest(
        {"types": {"twilio/card": {"title": "Alone"}}})))
    assert (error.status, error.code) == (400, 20001) and "twilio/card" in error.msg
    assert client.content.v1.contents(created.sid).fetch().types == {"twilio/text": {"body": "Hi"}}
