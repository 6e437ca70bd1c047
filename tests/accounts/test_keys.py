"""API keys: created with a secret shown once, authenticating like the account's token, revocable at once."""

from __future__ import annotations

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


def test_a_subaccount_key_sends_and_stays_inside_its_account(
    loft: LoftServer, main_client: Client, client: Client, account: tuple[str, str], sender: str
) -> None:
    key = client.new_keys.create(friendly_name="ci")
    assert key.sid.startswith("SK") and len(key.secret) == 32 and key.friendly_name == "ci"
    with_key = clients.sdk(loft.base_url, key.sid, key.secret, account[0])
    message = with_key.messages.create(to="+15558674001", from_=sender, body="sent with a key")
    assert message.account_sid == account[0]
    assert with_key.messages(message.sid).fetch().body == "sent with a key"

    parent = main_client.api.accounts(loft.account_sid)
    key_on_parent = clients.sdk(loft.base_url, key.sid, key.secret, loft.account_sid)
    with pytest.raises(TwilioException):
        key_on_parent.messages.list()
    sibling = main_client.api.accounts.create(friendly_name="sibling")
    key_on_sibling = clients.sdk(loft.base_url, key.sid, key.secret, sibling.sid)
    with pytest.raises(TwilioRestException) as refused:
        key_on_sibling.messages.create(to="+15558674002", from_=sender, body="not mine")
    assert refused.value.status == 403 and refused.value.code == 20003
    assert parent.fetch().sid == loft.account_sid  # the parent itself is unaffected


def test_the_secret_is_shown_only_when_the_key_is_made(client: Client, account: tuple[str, str],
                                                      loft: LoftServer) -> None:
    key = client.new_keys.create()
    assert key.friendly_name == key.sid
    listed = client.keys.list()
    assert [k.sid for k in listed] == [key.sid]
    with httpx.Client(base_url=loft.base_url, auth=account) as http:
        fetched = clients.checked(http.get(f"/2010-04-01/Accounts/{account[0]}/Keys/{key.sid}.json")).json()
        page = clients.checked(http.get(f"/2010-04-01/Accounts/{account[0]}/Keys.json")).json()
    assert "secret" not in fetched and all("secret" not in k for k in page["keys"])
    renamed = client.keys(key.sid).update(friendly_name="renamed")
    assert renamed.friendly_name == "renamed"


def test_a_deleted_key_is_refused_at_once(loft: LoftServer, client: Client, account: tuple[str, str]) -> None:
    key = client.new_keys.create()
    with_key = clients.sdk(loft.base_url, key.sid, key.secret, account[0])
    assert with_key.api.accounts(account[0]).fetch().sid == account[0]
    assert client.keys(key.sid).delete() is True
    with pytest.raises(TwilioRestException) as refused:
        with_key.api.accounts(account[0]).fetch()
    assert refused.value.status == 401 and refused.value.code == 20003
    with pytest.raises(TwilioRestException) as missing:
        client.keys(key.sid).fetch()
    assert missing.value.status == 404


def test_a_wrong_key_secret_is_refused(loft: LoftServer, client: Client, account: tuple[str, str]) -> None:
    key = client.new_keys.create()
    wrong = clients.sdk(loft.base_url, key.sid, "0" * 32, account[0])
    with pytest.raises(TwilioRestException) as refused:
        wrong.api.accounts(account[0]).fetch()
    assert refused.value.status == 401
