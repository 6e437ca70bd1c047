"""Subaccounts: renamed, suspended, reactivated and closed by their parent; closed is final."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


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
