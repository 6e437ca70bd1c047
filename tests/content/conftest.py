"""Fixtures for the Content API: templates made through the official SDK (whose ``content`` domain points at Loft)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from tests.messaging_services.conftest import other_client  # noqa: F401 - a fixture shared

TEXT: dict[str, Any] = {"twilio/text": {"body": "Hello {{1}}, your order {{order_id}} ships today"}}


def request(types: Mapping[str, Any], *, language: str = "en", variables: Mapping[str, str] | None = None,
            friendly_name: str | None = "test template") -> ContentList.ContentCreateRequest:
    """A create body as twilio-python builds it (every field of its model sent, the unset ones as ``null``)."""
    return ContentList.ContentCreateRequest({"friendly_name": friendly_name, "language": language,
                                             "variables": dict(variables or {}), "types": dict(types)})


@pytest.fixture
def create(client: Client) -> Callable[..., Any]:
    """Create a template for the test's account: ``create(types, variables=...)``."""

    def created(types: Mapping[str, Any] = TEXT, **given: Any) -> Any:
        return client.content.v1.contents.create(request(types, **given))

    return created
