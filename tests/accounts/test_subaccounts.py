"""Subaccounts: renamed, suspended, reactivated and closed by their parent; closed is final. A suspended account
reads but changes nothing; a closed one owns no numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import Sim


def test_rename_and_suspend_a_subaccount(main_client: Client, client: Client, account: tuple[str, str],
                                         sender: str) -> None:
    renamed = main_client.api.accounts(account[0]).update(friendly_name="renamed")
    assert renamed.friendly_name == "renamed"
    suspended = main_client.api.accounts(account[0]).update(status="suspended")
    assert suspended.status == "suspended"
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to="+15558675001", from_=sender, body="while suspended")
    assert refused.value.status == 403 and refused.value.code == 20005
    assert client.messages.list() == []  # a suspended account still reads
    main_client.api.accounts(account[0]).update(status="active")
    assert client.messages.create(to="+15558675001", from_=sender, body="back").status == "queued"


def test_closed_is_final_and_its_credentials_stop_working(main_client: Client, client: Client,
                                                          account: tuple[str, str]) -> None:
    assert main_client.api.accounts(account[0]).update(status="closed").status == "closed"
    with pytest.raises(TwilioRestException) as refused:
        client.api.accounts(account[0]).fetch()
    assert refused.value.status == 401
    with pytest.raises(TwilioRestException) as final:
        main_client.api.accounts(account[0]).update(status="active")
    assert final.value.status == 400


@pytest.mark.parametrize(
    ("status", "code"),
    [pytest.param("paused", 20001, id="unknown-status")],
)
def test_bad_status_is_refused(main_client: Client, account: tuple[str, str], status: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as refused:
        main_client.api.accounts(account[0]).update(status=status)
    assert refused.value.code == code


def test_only_the_parent_changes_a_status(loft: LoftServer, main_client: Client, client: Client,
                                          account: tuple[str, str]) -> None:
    with pytest.raises(TwilioRestException) as refused:
        client.api.accounts(account[0]).update(status="suspended")
    assert refused.value.status == 403
    with pytest.raises(TwilioRestException) as main_refused:
        main_client.api.accounts(loft.account_sid).update(status="suspended")
    assert main_refused.value.status == 400
    sub = clients.sdk(loft.base_url, *account)
    assert sub.api.accounts(account[0]).update(friendly_name="mine").friendly_name == "mine"


@pytest.mark.parametrize("change", [
    pytest.param(lambda c, number, app: c.incoming_phone_numbers.create(area_code="415"), id="buy-number"),
    pytest.param(lambda c, number, app: c.incoming_phone_numbers(number).update(sms_url="https://example.com/x"),
                 id="set-number-webhook"),
    pytest.param(lambda c, number, app: c.incoming_phone_numbers(number).update(friendly_name="renamed"),
                 id="rename-number"),
    pytest.param(lambda c, number, app: c.applications.create(friendly_name="new"), id="create-application"),
    pytest.param(lambda c, number, app: c.applications(app).update(sms_url="https://example.com/x"),
                 id="set-application-webhook"),
    pytest.param(lambda c, number, app: c.new_keys.create(friendly_name="new"), id="create-api-key"),
])
def test_a_suspended_account_reads_but_changes_nothing(main_client: Client, client: Client,
                                                       account: tuple[str, str], change: Any) -> None:
    number = client.incoming_phone_numbers.create(area_code="415", sms_url="https://example.com/before")
    app = client.applications.create(friendly_name="before")
    main_client.api.accounts(account[0]).update(status="suspended")
    for acting in (client, main_client.api.accounts(account[0])):  # its own credentials, and its parent's
        with pytest.raises(TwilioRestException) as refused:
            change(acting, number.sid, app.sid)
        assert (refused.value.status, refused.value.code) == (403, 20005)
        assert "Account not active" in refused.value.msg and "suspended" in refused.value.msg
    assert [n.sms_url for n in client.incoming_phone_numbers.list()] == ["https://example.com/before"]
    assert [a.friendly_name for a in client.applications.list()] == ["before"]
    assert client.keys.list() == []
    main_client.api.accounts(account[0]).update(status="active")
    change(client, number.sid, app.sid)  # reactivated: allowed again


def test_a_suspended_account_still_revokes_keys_and_lets_go_of_numbers(main_client: Client, client: Client,
                                                                       account: tuple[str, str]) -> None:
    key = client.new_keys.create(friendly_name="leaked")
    kept, moved = (client.incoming_phone_numbers.create(area_code="415") for _ in range(2))
    sibling = main_client.api.accounts.create(friendly_name="sibling")
    main_client.api.accounts(account[0]).update(status="suspended")
    client.keys(key.sid).delete()
    client.incoming_phone_numbers(kept.sid).delete()
    # The parent moves a number out of the suspended account, but never into one.
    out = main_client.api.accounts(account[0]).incoming_phone_numbers(moved.sid).update(account_sid=sibling.sid)
    assert out.account_sid == sibling.sid
    with pytest.raises(TwilioRestException) as refused:
        main_client.api.accounts(sibling.sid).incoming_phone_numbers(moved.sid).update(account_sid=account[0])
    assert (refused.value.status, refused.value.code) == (403, 20005)
    assert client.keys.list() == [] and client.incoming_phone_numbers.list() == []
    assert [n.sid for n in main_client.api.accounts(sibling.sid).incoming_phone_numbers.list()] == [moved.sid]


def test_closing_an_account_releases_its_numbers(loft: LoftServer, main_client: Client, client: Client,
                                                 account: tuple[str, str]) -> None:
    number = client.incoming_phone_numbers.create(area_code="415").phone_number
    sibling = main_client.api.accounts.create(friendly_name="sibling")
    elsewhere = main_client.api.accounts(sibling.sid).incoming_phone_numbers.create(area_code="415")
    handset = Sim(loft.base_url, (loft.account_sid, loft.auth_token))
    try:
        assert handset.text("+15558679101", to=number, body="before")["account_sid"] == account[0]
        main_client.api.accounts(account[0]).update(status="closed")
        assert main_client.api.accounts(account[0]).incoming_phone_numbers.list() == []
        # No more inbound messages: the number is owned by nobody, like any number never bought.
        response = handset.http.post("/sim/v1/Handsets/+15558679101/Messages", data={"To": number, "Body": "after"})
        assert response.status_code == 404, response.text
    finally:
        handset.http.close()
    # Nothing goes into a closed account: no number bought there, none moved there.
    attempts: list[Callable[[], object]] = [
        lambda: main_client.api.accounts(account[0]).incoming_phone_numbers.create(area_code="415"),
        lambda: main_client.api.accounts(sibling.sid).incoming_phone_numbers(elsewhere.sid).update(
            account_sid=account[0]),
    ]
    for attempt in attempts:
        with pytest.raises(TwilioRestException) as refused:
            attempt()
        assert (refused.value.status, refused.value.code) == (403, 20005)
        assert "closed" in refused.value.msg
    # The released number is for sale again.
    again = main_client.api.accounts(sibling.sid).incoming_phone_numbers.create(phone_number=number)
    assert again.phone_number == number
