"""Fixtures for the messaging v1 API: the test's account's services and numbers, through the official SDK."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.numbers import US_LOCAL, unused
from tests.support.server import LoftServer


def unused_number(template: str = US_LOCAL) -> str:
    """A valid number from ``template`` (each ``#`` a random digit) that no other test of the run was given."""
    return unused(template)


def refused(call: Callable[[], Any]) -> TwilioRestException:
    """The Twilio error ``call`` raises."""
    with pytest.raises(TwilioRestException) as info:
        call()
    return info.value


@pytest.fixture
def service_sid(client: Client) -> str:
    """A fresh Messaging Service of the test's account."""
    sid: str = client.messaging.v1.services.create(friendly_name="test service").sid
    return sid


@pytest.fixture
def buy(client: Client) -> Callable[..., Any]:
    """Buy a number for the test's account (a US local one by default): ``buy()`` or ``buy("+44207183####")``."""

    def bought(template: str = US_LOCAL) -> Any:
        return client.incoming_phone_numbers.create(phone_number=unused_number(template))

    return bought


@pytest.fixture
def other_client(loft: LoftServer, main_client: Client) -> Client:
    """A second, unrelated subaccount of the same parent."""
    created = main_client.api.accounts.create(friendly_name="other")
    return clients.sdk(loft.base_url, created.sid, created.auth_token)
