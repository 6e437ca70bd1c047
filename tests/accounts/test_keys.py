"""API keys: created with a secret shown once, revocable at once, and as strong as Twilio's standard keys: they act
for their own account's resources, never on /Accounts or /Keys, never on another account (subaccounts included)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


@pytest.fixture
def key(client: Client) -> tuple[str, str]:
    created = client.new_keys.create(friendly_name="ci")
    return created.sid, created.secret


def as_key(loft: LoftServer, key: tuple[str, str]) -> httpx.Client:
    return httpx.Client(base_url=loft.base_url, auth=key, timeout=30)


#: What Twilio keeps from standard keys: (method, path under the account, form) each answered 401 to a key.
KEPT_FROM_KEYS = [
    pytest.param("GET", ".json", None, id="fetch-own-account"),
    pytest.param("POST", ".json", {"FriendlyName": "renamed by a key"}, id="update-own-account"),
    pytest.param("GET", "/Keys.json", None, id="list-keys"),
    pytest.param("POST", "/Keys.json", {"FriendlyName": "minted by a key"}, id="create-key"),
    pytest.param("GET", "/Keys/{key}.json", None, id="fetch-key"),
    pytest.param("POST", "/Keys/{key}.json", {"FriendlyName": "x"}, id="rename-key"),
    pytest.param("DELETE", "/Keys/{key}.json", None, id="delete-key"),
]


@pytest.mark.parametrize(("method", "path", "form"), KEPT_FROM_KEYS)
def test_a_key_cannot_touch_its_account_or_keys(loft: LoftServer, client: Client, account: tuple[str, str],
                                                key: tuple[str, str], method: str, path: str,
                                                form: dict[str, str] | None) -> None:
    with as_key(loft, key) as http:
        answer = http.request(method, f"/2010-04-01/Accounts/{account[0]}{path.replace('{key}', key[0])}", data=form)
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == 20003 and account[1] not in answer.text
    assert [k.sid for k in client.keys.list()] == [key[0]]  # nothing minted, renamed or deleted
    assert client.keys(key[0]).fetch().friendly_name == "ci"
    assert client.api.accounts(account[0]).fetch().friendly_name == "test"


def test_a_key_cannot_list_or_create_accounts(loft: LoftServer, key: tuple[str, str]) -> None:
    with as_key(loft, key) as http:
        listed = http.get("/2010-04-01/Accounts.json")
        created = http.post("/2010-04-01/Accounts.json", data={"FriendlyName": "by a key"})
    assert (listed.status_code, created.status_code) == (401, 401)


def test_the_main_accounts_key_reaches_no_subaccount(loft: LoftServer, main_client: Client,
                                                     account: tuple[str, str]) -> None:
    """Twilio's keys act for their own account only: a parent's key is no way into its subaccounts' tokens."""
    parent_key = main_client.new_keys.create(friendly_name="parent")
    try:
        with as_key(loft, (parent_key.sid, parent_key.secret)) as http:
            answers = [http.get("/2010-04-01/Accounts.json"), http.get(f"/2010-04-01/Accounts/{account[0]}.json"),
                       http.get(f"/2010-04-01/Accounts/{account[0]}/Messages.json"),
                       http.post(f"/2010-04-01/Accounts/{account[0]}/Keys.json")]
        assert [a.status_code for a in answers] == [401] * 4
        assert all(account[1] not in a.text for a in answers)
        own = clients.sdk(loft.base_url, parent_key.sid, parent_key.secret, loft.account_sid)
        assert own.api.v2010.account.balance.fetch().account_sid == loft.account_sid  # its own account: fine
    finally:
        main_client.keys(parent_key.sid).delete()


#: What a standard key may do on its own account, each checked through the SDK.
ALLOWED: list[tuple[str, Callable[[Client, str], object]]] = [
    ("send", lambda c, sender: c.messages.create(to="+15558674001", from_=sender, body="sent with a key").sid),
    ("list-messages", lambda c, sender: c.messages.list(limit=5)),
    ("list-numbers", lambda c, sender: c.incoming_phone_numbers.list(phone_number=sender)[0].sid),
    ("buy-number", lambda c, sender: c.incoming_phone_numbers.create(area_code="212").sid),
    ("search-numbers", lambda c, sender: c.available_phone_numbers("US").local.list(limit=1)),
    ("create-application", lambda c, sender: c.applications.create(friendly_name="app").sid),
    ("usage", lambda c, sender: c.usage.records.list(limit=1)),
    ("balance", lambda c, sender: c.api.v2010.account.balance.fetch().currency),
]


@pytest.mark.parametrize("name", [name for name, _ in ALLOWED])
def test_a_key_does_everything_else_on_its_account(loft: LoftServer, account: tuple[str, str], sender: str,
                                                   key: tuple[str, str], name: str) -> None:
    act = dict(ALLOWED)[name]
    assert act(clients.sdk(loft.base_url, *key, account[0]), sender) is not None


def test_a_subaccount_key_stays_inside_its_account(loft: LoftServer, main_client: Client, client: Client,
                                                   account: tuple[str, str], sender: str,
                                                   key: tuple[str, str]) -> None:
    with_key = clients.sdk(loft.base_url, *key, account[0])
    message = with_key.messages.create(to="+15558674001", from_=sender, body="sent with a key")
    assert message.account_sid == account[0]
    assert with_key.messages(message.sid).fetch().body == "sent with a key"
    sibling = main_client.api.accounts.create(friendly_name="sibling")
    for other in (loft.account_sid, sibling.sid):
        with pytest.raises(TwilioRestException) as refused:
            clients.sdk(loft.base_url, *key, other).messages.create(to="+15558674002", from_=sender, body="no")
        assert refused.value.status == 401 and refused.value.code == 20003


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


def test_deleting_a_leaked_key_cuts_its_holder_off(loft: LoftServer, client: Client, account: tuple[str, str],
                                                   key: tuple[str, str]) -> None:
    """The holder of a leaked key could neither learn the token nor mint a spare key: deleting it is enough."""
    with_key = clients.sdk(loft.base_url, *key, account[0])
    assert with_key.api.v2010.account.balance.fetch() is not None
    with pytest.raises(TwilioRestException):
        with_key.new_keys.create(friendly_name="spare")
    assert client.keys(key[0]).delete() is True
    with pytest.raises(TwilioRestException) as refused:
        with_key.api.v2010.account.balance.fetch()
    assert refused.value.status == 401 and refused.value.code == 20003
    with pytest.raises(TwilioRestException) as missing:
        client.keys(key[0]).fetch()
    assert missing.value.status == 404
    assert client.keys.list() == []


def test_a_wrong_key_secret_is_refused(loft: LoftServer, account: tuple[str, str], key: tuple[str, str]) -> None:
    wrong = clients.sdk(loft.base_url, key[0], "0" * 32, account[0])
    with pytest.raises(TwilioRestException) as refused:
        wrong.api.v2010.account.balance.fetch()
    assert refused.value.status == 401


def test_a_parents_key_cannot_text_its_subaccounts_numbers_from_a_handset(loft: LoftServer, main_client: Client,
                                                                          sender: str) -> None:
    parent_key = main_client.new_keys.create(friendly_name="parent")
    try:
        path = "/sim/v1/Handsets/+15558674090/Messages"
        with as_key(loft, (parent_key.sid, parent_key.secret)) as http:
            refused = http.post(path, data={"To": sender, "Body": "via the parent's key"})
            inbox = http.get(path)
        with httpx.Client(base_url=loft.base_url, auth=(loft.account_sid, loft.auth_token)) as http:
            allowed = http.post(path, data={"To": sender, "Body": "via the parent's token"})
        assert refused.status_code == 404 and allowed.status_code == 201
        assert inbox.status_code == 200
    finally:
        main_client.keys(parent_key.sid).delete()
