"""What the virtual phone draws of an RCS message's content (``loft.console.rich.view``): the fields it uses, each
of its kind, whatever the inbox holds."""

from __future__ import annotations

from typing import Any

from loft.console import rich


def test_nothing_rich_is_none() -> None:
    nothing: list[Any] = [None, "card", [], {}, {"type": "twilio/location", "body": "x"}, {"type": ["twilio/card"]}]
    assert [rich.view(content) for content in nothing] == [None] * 6


def test_a_quick_reply_s_actions_are_replies_known_by_their_id_else_their_title() -> None:
    shown = rich.view({"type": "twilio/quick-reply", "body": "Fit?",
                       "actions": [{"title": "Yes", "id": "fit_yes"}, {"title": "No"}, {"id": "untitled"}]})
    assert shown is not None
    assert [(a["type"], a["title"], a["id"]) for a in shown["actions"]] == [
        ("QUICK_REPLY", "Yes", "fit_yes"), ("QUICK_REPLY", "No", "No")]


def test_only_web_urls_and_texts_are_kept() -> None:
    shown = rich.view({"type": "twilio/card", "title": 7, "subtitle": "<b>kept as it is</b>",
                       "media": ["javascript:alert(1)", "data:image/png;base64,AA", "HTTPS://example.com/a.png", 3],
                       "actions": [{"type": "URL", "title": "Go", "url": "javascript:alert(1)"},
                                   {"type": "URL", "title": "Site", "url": "http://example.com"}, "junk"],
                       "cards": "not a list", "items": [{"id": "a"}, {"item": "Apple", "description": None}]})
    assert shown is not None
    assert (shown["title"], shown["subtitle"], shown["media"], shown["cards"]) == (
        "", "<b>kept as it is</b>", ["HTTPS://example.com/a.png"], [])
    assert [(a["title"], a["url"]) for a in shown["actions"]] == [("Go", ""), ("Site", "http://example.com")]
    assert shown["items"] == [{"id": "Apple", "item": "Apple", "description": ""}]


def test_a_carousel_s_cards_have_every_field_their_one_media_url_a_list() -> None:
    shown = rich.view({"type": "twilio/carousel", "body": "Picks",
                       "cards": [{"title": "Shoe", "body": "Size 41", "media": "https://example.com/s.png",
                                  "actions": [{"type": "QUICK_REPLY", "title": "Buy", "id": "buy"}]}, "junk"]})
    assert shown is not None
    assert shown["cards"] == [{"title": "Shoe", "subtitle": "", "body": "Size 41", "media": ["https://example.com/s.png"],
                               "actions": [{"type": "QUICK_REPLY", "title": "Buy", "id": "buy", "url": "", "phone": "",
                                            "code": ""}]}]
