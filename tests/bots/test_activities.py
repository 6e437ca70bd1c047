"""A bot's ``message`` Activity as the form of a send: text, cards and suggested actions as numbered choices,
attachments as media."""

from __future__ import annotations

from typing import Any

import pytest

from loft.bots import activities
from loft.errors import InvalidParameter

HERO = "application/vnd.microsoft.card.hero"


@pytest.mark.parametrize("activity, body, media", [
    pytest.param({"text": "hi"}, "hi", [], id="text"),
    pytest.param({"text": "Pick", "suggestedActions": {"actions": [{"title": "Yes"}, {"value": "no"}]}},
                 "Pick\n1. Yes\n2. no", [], id="suggested-actions"),
    pytest.param({"attachments": [{"contentType": HERO, "content": {
        "title": "T", "subtitle": "S", "text": "X", "images": [{"url": "https://e.x/i.png"}],
        "buttons": [{"type": "imBack", "title": "A", "value": "a"}]}}]},
        "T\nS\nX\n1. A", ["https://e.x/i.png"], id="hero-card"),
    pytest.param({"attachments": [{"contentType": "application/vnd.microsoft.card.thumbnail",
                                   "content": {"title": "Thumb"}}]}, "Thumb", [], id="thumbnail-card"),
    pytest.param({"text": "owl", "attachments": [{"contentType": "image/png", "contentUrl": "https://e.x/o.png"},
                                                 {"contentType": "application/vnd.microsoft.card.adaptive",
                                                  "content": {}}]},
                 "owl", ["https://e.x/o.png"], id="media-and-a-card-sms-cannot-show"),
])
def test_a_message_activity_becomes_a_send(activity: dict[str, Any], body: str, media: list[str]) -> None:
    form = activities.message_form(activity, number="+14155550100", phone="+15558675310")
    assert form[:3] == [("From", "+14155550100"), ("To", "+15558675310"), ("Body", body)]
    assert [value for name, value in form[3:] if name == "MediaUrl"] == media


def test_conversation_ids_name_the_phone_and_the_number() -> None:
    conversation = activities.conversation_id("+15558675310", "+14155550100")
    assert activities.parties(conversation) == ("+15558675310", "+14155550100")
    with pytest.raises(InvalidParameter):
        activities.parties("19:abc@thread.skype")
