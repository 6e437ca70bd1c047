from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client


def test_create_returns_a_queued_message_in_twilios_shape(client: Client, sender: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body="Hello there")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.to == "+15558675310"
    assert message.from_ == sender
    assert message.body == "Hello there"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.price is None and message.price_unit == "USD"
    assert message.date_sent is None and message.date_created is not None
    assert message.uri == f"/2010-04-01/Accounts/{message.account_sid}/Messages/{message.sid}.json"


def test_create_unowned_from_is_refused(client: Client) -> None:
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to="+15558675310", from_="+14155550100", body="hi")
    assert info.value.status == 400 and info.value.code == 21606
