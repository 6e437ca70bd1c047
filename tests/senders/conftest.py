"""Fixtures for the messaging v2 Senders API: RCS senders made through the official SDK."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from twilio.rest import Client
from twilio.rest.messaging.v2.channels_sender import ChannelsSenderList

from tests.messaging_services.conftest import other_client, service_sid  # noqa: F401 - fixtures shared

WEBHOOK = {"callback_url": "https://example.com/rcs", "callback_method": "POST",
           "fallback_url": "https://example.com/rcs-fallback", "fallback_method": "POST",
           "status_callback_url": "https://example.com/rcs-status", "status_callback_method": "POST"}
PROFILE = {"name": "Acme", "description": "Acme deliveries", "accent_color": "#1A73E8",
           "logo_url": "https://example.com/logo.png", "banner_url": "https://example.com/banner.png",
           "privacy_url": "https://example.com/privacy", "terms_of_service_url": "https://example.com/tos",
           "phone_numbers": [{"phone_number": "+12125551212", "label": "Support"}],
           "emails": [{"email": "help@example.com", "label": "Help"}],
           "websites": [{"website": "https://example.com", "label": "Home"}]}


def agent() -> str:
    """A ``sender_id`` no other test of the run uses (they are unique in Loft)."""
    return f"rcs:acme_{secrets.token_hex(6)}"


def request(body: Mapping[str, Any]) -> ChannelsSenderList.MessagingV2ChannelsSenderRequestsCreate:
    """A create body as twilio-python builds it (every field of its model, the unset ones ``null``)."""
    return ChannelsSenderList.MessagingV2ChannelsSenderRequestsCreate(dict(body))


@pytest.fixture
def create_sender(client: Client) -> Callable[..., Any]:
    """Create an RCS sender for the test's account: ``create_sender()`` or ``create_sender(sender_id=..., ...)``."""

    def created(**body: Any) -> Any:
        return client.messaging.v2.channels_senders.create(request({"sender_id": agent(), **body}))

    return created
