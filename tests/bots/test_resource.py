"""``/loft/v1/Accounts/{AccountSid}/Bots``: bot connections, account-scoped, the password sealed and never shown."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from twilio.rest import Client

from tests.support import openapi
from tests.support.server import LoftServer

PASSWORD = "s3cret-bot-password"


@pytest.fixture
def api(loft: LoftServer, account: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        yield http


def _checked(response: httpx.Response, template: str, method: str) -> httpx.Response:
    body = response.json() if response.content else None
    openapi.check_own(template, method, response.status_code, body)
    return response


_ONE = "/loft/v1/Accounts/{AccountSid}/Bots/{BotSid}"
_ALL = "/loft/v1/Accounts/{AccountSid}/Bots"


def test_a_bot_is_created_listed_updated_and_deleted(loft: LoftServer, api: httpx.Client,
                                                      account: tuple[str, str]) -> None:
    base = f"/loft/v1/Accounts/{account[0]}/Bots"
    created = _checked(api.post(base, data={
        "FriendlyName": "pizza", "MessagingEndpoint": "http://127.0.0.1:3978/api/messages",
        "MicrosoftAppId": "app-id", "MicrosoftAppPassword": PASSWORD}), _ALL, "post")
    assert created.status_code == 201, created.text
    bot = created.json()
    assert bot["sid"].startswith("BT") and bot["friendly_name"] == "pizza" and bot["microsoft_app_id"] == "app-id"
    assert bot["sms_url"] == f"{loft.base_url}/loft/v1/Accounts/{account[0]}/Bots/{bot['sid']}/Sms"
    assert bot["service_url"].startswith(f"{loft.base_url}/loft/botframework/{bot['sid']}/")
    assert PASSWORD not in created.text and "password" not in created.text.lower()
    listed = _checked(api.get(base), _ALL, "get").json()
    assert [item["sid"] for item in listed["bots"]] == [bot["sid"]] and listed["meta"]["key"] == "bots"
    updated = _checked(api.post(f"{base}/{bot['sid']}", data={"FriendlyName": "pasta"}), _ONE, "post").json()
    assert updated["friendly_name"] == "pasta" and updated["messaging_endpoint"] == bot["messaging_endpoint"]
    assert _checked(api.get(f"{base}/{bot['sid']}"), _ONE, "get").json() == updated
    assert api.delete(f"{base}/{bot['sid']}").status_code == 204
    assert _checked(api.get(f"{base}/{bot['sid']}"), _ONE, "get").status_code == 404


def test_the_password_is_stored_sealed(loft: LoftServer, api: httpx.Client, account: tuple[str, str]) -> None:
    if loft.database_url:
        pytest.skip("read from the SQLite file")
    sid = api.post(f"/loft/v1/Accounts/{account[0]}/Bots", data={
        "MessagingEndpoint": "http://127.0.0.1:3978/api/messages", "MicrosoftAppPassword": PASSWORD}).json()["sid"]
    with sqlite3.connect(loft.data_dir / "loft.db") as db:
        (sealed,) = db.execute("SELECT microsoft_app_password_sealed FROM bots WHERE sid = ?", (sid,)).fetchone()
    assert sealed and PASSWORD not in sealed


@pytest.mark.parametrize("form, named", [
    pytest.param({}, "MessagingEndpoint", id="missing-endpoint"),
    pytest.param({"MessagingEndpoint": "ftp://bot/api/messages"}, "MessagingEndpoint", id="not-http"),
    pytest.param({"MessagingEndpoint": "not a url"}, "MessagingEndpoint", id="not-a-url"),
    pytest.param({"MessagingEndpoint": "http://bot/api", "FriendlyName": "x" * 256}, "FriendlyName", id="too-long"),
    pytest.param({"MessagingEndpoint": "http://bot/api", "MicrosoftAppId": "a"}, "MicrosoftAppPassword",
                 id="app-id-without-password"),
])
def test_bad_input_is_400_naming_the_field(api: httpx.Client, account: tuple[str, str], form: dict[str, str],
                                          named: str) -> None:
    response = _checked(api.post(f"/loft/v1/Accounts/{account[0]}/Bots", data=form), _ALL, "post")
    assert response.status_code == 400 and response.json()["code"] == 20001 and named in response.json()["message"]


def test_another_account_cannot_see_or_change_the_bot(loft: LoftServer, api: httpx.Client,
                                                      account: tuple[str, str], main_client: Client) -> None:
    sid = api.post(f"/loft/v1/Accounts/{account[0]}/Bots",
                   data={"MessagingEndpoint": "http://127.0.0.1:3978/api/messages"}).json()["sid"]
    other = main_client.api.accounts.create(friendly_name="other")
    with httpx.Client(base_url=loft.base_url, auth=(other.sid, other.auth_token), timeout=30) as stranger:
        assert stranger.get(f"/loft/v1/Accounts/{account[0]}/Bots/{sid}").status_code == 403
        assert stranger.delete(f"/loft/v1/Accounts/{account[0]}/Bots/{sid}").status_code == 403
        assert stranger.get(f"/loft/v1/Accounts/{other.sid}/Bots/{sid}").status_code == 404
        assert stranger.get(f"/loft/v1/Accounts/{other.sid}/Bots").json()["bots"] == []
    assert api.get(f"/loft/v1/Accounts/{account[0]}/Bots/{sid}").status_code == 200
