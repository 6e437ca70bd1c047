"""Moving a number between a parent and its subaccounts (update ``AccountSid``)."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


def _sub(loft: LoftServer, main_client: Client) -> tuple[str, Client]:
    created = main_client.api.accounts.create(friendly_name="sub")
    return created.sid, clients.sdk(loft.base_url, created.sid, created.auth_token)


def test_the_parent_moves_a_number_between_subaccounts(loft: LoftServer, main_client: Client) -> None:
    first_sid, first = _sub(loft, main_client)
    second_sid, second = _sub(loft, main_client)
    app = first.applications.create(friendly_name="first's bot")
    number = first.incoming_phone_numbers.create(area_code="415", sms_application_sid=app.sid,
                                                 sms_url="https://example.com/sms")
    moved = main_client.api.accounts(first_sid).incoming_phone_numbers(number.sid).update(account_sid=second_sid)
    assert moved.account_sid == second_sid and moved.sid == number.sid
    assert moved.sms_application_sid is None  # the application stayed with the old account
    assert moved.sms_url == "https://example.com/sms"
    assert [n.sid for n in second.incoming_phone_numbers.list()] == [number.sid]
    assert first.incoming_phone_numbers.list() == []
    with pytest.raises(TwilioRestException) as gone:
        first.incoming_phone_numbers(number.sid).fetch()
    assert gone.value.status == 404
    assert second.messages.create(to="+15558676001", from_=number.phone_number, body="moved").status == "queued"
    with pytest.raises(TwilioRestException) as not_owned:
        first.messages.create(to="+15558676001", from_=number.phone_number, body="not mine any more")
    assert not_owned.value.code == 21606


def test_a_subaccount_cannot_move_its_number_to_a_sibling(loft: LoftServer, main_client: Client) -> None:
    _, first = _sub(loft, main_client)
    second_sid, _ = _sub(loft, main_client)
    number = first.incoming_phone_numbers.create(area_code="415")
    with pytest.raises(TwilioRestException) as refused:
        first.incoming_phone_numbers(number.sid).update(account_sid=second_sid)
    assert refused.value.status == 403 and refused.value.code == 20003
    assert first.incoming_phone_numbers(number.sid).fetch().account_sid != second_sid


def test_a_number_moves_up_to_the_parent(loft: LoftServer, main_client: Client) -> None:
    sub_sid, sub = _sub(loft, main_client)
    number = sub.incoming_phone_numbers.create(area_code="415")
    moved = main_client.api.accounts(sub_sid).incoming_phone_numbers(number.sid).update(account_sid=loft.account_sid)
    assert moved.account_sid == loft.account_sid
    assert main_client.incoming_phone_numbers(number.sid).fetch().phone_number == number.phone_number
    main_client.incoming_phone_numbers(number.sid).delete()
