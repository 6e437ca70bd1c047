"""``/2010-04-01/Accounts``: the main account, its subaccounts, and the ``loft credentials`` command."""

from __future__ import annotations

import secrets
import subprocess
import sys
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(4)}"


def test_list_includes_the_main_account_and_its_subaccounts(loft: LoftServer, main_client: Client) -> None:
    first = main_client.api.accounts.create(friendly_name=unique("first"))
    second = main_client.api.accounts.create(friendly_name=unique("second"))
    listed = {a.sid: a for a in main_client.api.accounts.list()}
    assert {loft.account_sid, first.sid, second.sid} <= set(listed)
    assert listed[first.sid].friendly_name == first.friendly_name
    assert listed[first.sid].owner_account_sid == loft.account_sid


def test_list_pages_through_every_account(main_client: Client) -> None:
    name = unique("paged")
    made = [main_client.api.accounts.create(friendly_name=name).sid for _ in range(3)]
    assert [a.sid for a in main_client.api.accounts.list(friendly_name=name, page_size=1)] == made


def test_fetch_subaccount(loft: LoftServer, main_client: Client) -> None:
    name = unique("fetched")
    created = main_client.api.accounts.create(friendly_name=name)
    assert created.sid.startswith("AC") and len(created.sid) == 34
    fetched = main_client.api.accounts(created.sid).fetch()
    assert fetched.friendly_name == name
    assert fetched.status == "active"
    assert fetched.type == "Full"
    assert fetched.owner_account_sid == loft.account_sid
    assert fetched.auth_token == created.auth_token and len(fetched.auth_token) == 32
    assert fetched.uri == f"/2010-04-01/Accounts/{created.sid}.json"
    assert fetched.subresource_uris["messages"] == f"/2010-04-01/Accounts/{created.sid}/Messages.json"


def test_fetch_main_account(loft: LoftServer, main_client: Client) -> None:
    main = main_client.api.accounts(loft.account_sid).fetch()
    assert main.sid == loft.account_sid
    assert main.owner_account_sid == loft.account_sid
    assert main.auth_token == loft.auth_token
    assert main.status == "active" and main.type == "Full"
    assert main.friendly_name


def test_subaccount_fetches_itself(loft: LoftServer, account: tuple[str, str]) -> None:
    sub = clients.sdk(loft.base_url, *account)
    fetched = sub.api.accounts(account[0]).fetch()
    assert fetched.sid == account[0] and fetched.auth_token == account[1]
    assert fetched.owner_account_sid == loft.account_sid


def test_create_without_friendly_name_gets_a_default(main_client: Client) -> None:
    created = main_client.api.accounts.create()
    assert created.friendly_name.startswith("SubAccount Created at ")


def test_each_subaccount_gets_its_own_token(main_client: Client) -> None:
    tokens = {main_client.api.accounts.create(friendly_name="t").auth_token for _ in range(3)}
    assert len(tokens) == 3


def test_list_filters_by_friendly_name(main_client: Client) -> None:
    name = unique("wanted")
    wanted = main_client.api.accounts.create(friendly_name=name)
    main_client.api.accounts.create(friendly_name=unique("unwanted"))
    assert [a.sid for a in main_client.api.accounts.list(friendly_name=name)] == [wanted.sid]
    assert main_client.api.accounts.list(friendly_name=unique("nobody")) == []


def test_list_filters_by_status(loft: LoftServer, main_client: Client) -> None:
    created = main_client.api.accounts.create(friendly_name=unique("active"))
    active = main_client.api.accounts.list(status="active")
    assert {loft.account_sid, created.sid} <= {a.sid for a in active}
    assert all(a.status == "active" for a in active)
    assert main_client.api.accounts.list(status="closed") == []


def test_list_with_unknown_status_is_400(loft: LoftServer) -> None:
    response = clients.checked(
        httpx.get(f"{loft.base_url}/2010-04-01/Accounts.json", params={"Status": "bogus"},
                  auth=(loft.account_sid, loft.auth_token), timeout=30)
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_subaccount_lists_only_itself(loft: LoftServer, main_client: Client, account: tuple[str, str]) -> None:
    main_client.api.accounts.create(friendly_name="a sibling")
    sub = clients.sdk(loft.base_url, *account)
    assert [a.sid for a in sub.api.accounts.list()] == [account[0]]


def test_subaccount_cannot_create_subaccounts(loft: LoftServer, account: tuple[str, str]) -> None:
    sub = clients.sdk(loft.base_url, *account)
    with pytest.raises(TwilioRestException) as info:
        sub.api.accounts.create(friendly_name="grandchild")
    assert info.value.status == 400
    assert [a.sid for a in sub.api.accounts.list()] == [account[0]]


def test_accounts_list_needs_credentials(loft: LoftServer) -> None:
    response = clients.checked(httpx.get(f"{loft.base_url}/2010-04-01/Accounts.json", timeout=30))
    assert response.status_code == 401 and response.json()["code"] == 20003


def test_credentials_command_prints_working_sdk_code(loft: LoftServer) -> None:
    env = {**loft.env(), "LOFT_PORT": str(loft.port)}
    done = subprocess.run([sys.executable, "-m", "loft", "credentials"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert loft.account_sid in out and loft.auth_token in out
    code = [line.strip() for line in out.splitlines()
            if line.strip().startswith(("from twilio.rest import", "client = Client(", "client.api.base_url",
                                        "client.messaging.base_url", "client.content.base_url"))]
    assert len(code) == 5, out
    namespace: dict[str, Any] = {}
    exec("\n".join(code), namespace)  # noqa: S102 - the command's own output, run as a user would paste it
    client: Client = namespace["client"]
    assert client.api.base_url == client.messaging.base_url == client.content.base_url == loft.base_url
    client.http_client = clients.SpecCheckingHttpClient()
    assert client.api.accounts(loft.account_sid).fetch().sid == loft.account_sid
    assert isinstance(client.messaging.v1.services.list(limit=1), list)
    assert isinstance(client.content.v1.contents.list(limit=1), list)
