"""A bot with a MicrosoftAppId: Loft signs its Activities and issues the tokens of its replies, and a real
botbuilder bot trusts Loft by configuration alone (the four settings of docs/bots.md)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_of_its_own
from tests.support import clients
from tests.support.bot import Bot
from tests.support.numbers import US_LOCAL, unused
from tests.support.server import LoftServer
from tests.support.sim import Sim
from tests.support.tls_front import TlsFront, tls_front
from tests.support.waiting import eventually

APP_ID = "6f1c0a7e-3b7d-4c59-9d1f-2a4b8c6d0e11"
PASSWORD = "a-bot-password"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def behind_tls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LoftServer, TlsFront]]:
    """A Loft of the test's own, reachable over http and through an https front (which it trusts)."""
    server = server_of_its_own(request, tmp_path / "loft", LOFT_TRUSTED_PROXIES="127.0.0.1")
    with server.running(), tls_front(server.base_url, tmp_path) as front:
        yield server, front


def _bot_settings(server: LoftServer, front: TlsFront, password: str) -> dict[str, str]:
    """What a bot changes to trust Loft (docs/bots.md), and its credentials."""
    return {"MicrosoftAppId": APP_ID, "MicrosoftAppPassword": password,
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL":
                f"{server.base_url}/loft/botframework/v1/.well-known/openidconfiguration",
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": f"{server.base_url}/loft/botframework",
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": f"{front.base_url}/loft/b2c_botframework",
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": f"{server.base_url}/loft/botframework",
            "REQUESTS_CA_BUNDLE": str(front.certificate)}


def _connect(server: LoftServer, account: tuple[str, str], endpoint: str) -> tuple[str, str, dict[str, str]]:
    """A number bound to a TwiML App whose SmsUrl is the bot's sms_url; (number, handset, the bot)."""
    client = clients.sdk(server.base_url, *account)
    with httpx.Client(base_url=server.base_url, auth=account, timeout=30) as http:
        bot = http.post(f"/loft/v1/Accounts/{account[0]}/Bots", data={
            "MessagingEndpoint": endpoint, "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": PASSWORD}).json()
    number = client.incoming_phone_numbers.create(area_code="415")
    app = client.applications.create(sms_url=bot["sms_url"])
    client.incoming_phone_numbers(number.sid).update(sms_application_sid=app.sid)
    return number.phone_number, unused(US_LOCAL), bot


def test_an_authenticated_bot_echoes(behind_tls: tuple[LoftServer, TlsFront]) -> None:
    server, front = behind_tls
    account = (server.account_sid, server.auth_token)
    with Bot(env=_bot_settings(server, front, PASSWORD)).running() as bot:
        number, handset, _ = _connect(server, account, bot.endpoint)
        sim = Sim(server.base_url, account)
        try:
            sim.text(handset, number, "signed hello")
            inbox = eventually(lambda: sim.inbox(handset), timeout=30)
        finally:
            sim.http.close()
        assert [message["body"] for message in inbox] == ["Echo: signed hello"]


def test_without_loft_s_token_the_bot_refuses_and_loft_too(behind_tls: tuple[LoftServer, TlsFront]) -> None:
    server, front = behind_tls
    account = (server.account_sid, server.auth_token)
    with Bot(env=_bot_settings(server, front, PASSWORD)).running() as bot:
        _, handset, connected = _connect(server, account, bot.endpoint)
        unsigned = httpx.post(bot.endpoint, json={
            "type": "message", "id": "SM1", "channelId": "sms", "serviceUrl": connected["service_url"],
            "from": {"id": handset}, "recipient": {"id": "+14155550100"}, "conversation": {"id": "c"}, "text": "x"})
        # Refused before its turn: 401, or 500 where botbuilder 4.17's configured authentication trips over the
        # missing header (AttributeError on the identity it could not make).
        assert unsigned.status_code in (401, 500)
    call = httpx.post(f"{connected['service_url']}v3/conversations/{handset.replace('+', '%2B')}%7C%2B1/activities",
                      json={"type": "message", "text": "no token"})
    assert call.status_code == 401
    wrong = httpx.post(f"{front.base_url}/loft/b2c_botframework/oauth2/v2.0/token", verify=ssl.create_default_context(cafile=front.certificate),
                       data={"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
