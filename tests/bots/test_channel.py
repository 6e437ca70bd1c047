"""The Bot Framework channel end to end, with a real botbuilder-python bot: the customer's setup (a TwiML App whose
SmsUrl is the bot's ``sms_url``, bound to a number), a virtual handset texting the number, the bot's replies
reaching the handset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.support.bot import Bot, ScriptBot
from tests.support.numbers import US_LOCAL, unused
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim
from tests.support.waiting import eventually

#: A 1×1 PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


@pytest.fixture
def bot() -> Iterator[Bot]:
    with Bot().running() as running:
        yield running


@pytest.fixture
def api(loft: LoftServer, account: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        yield http


def connect(api: httpx.Client, client: Client, account: tuple[str, str], sender: str, endpoint: str) -> dict[str, Any]:
    """The seed's setup: a bot connection, a TwiML App whose SmsUrl is its sms_url, the number bound to it."""
    created = api.post(f"/loft/v1/Accounts/{account[0]}/Bots",
                       data={"FriendlyName": "echo", "MessagingEndpoint": endpoint})
    assert created.status_code == 201, created.text
    bot: dict[str, Any] = created.json()
    app = client.applications.create(friendly_name="My TwiML app", sms_url=bot["sms_url"])
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_application_sid=app.sid)
    return bot


def bodies(sim: Sim, handset: str, count: int) -> list[str]:
    inbox = eventually(lambda: len(found := sim.inbox(handset)) >= count and found, timeout=30)
    return [message["body"] for message in reversed(inbox)]  # the inbox is newest first


def test_the_bot_echoes_a_text_through_the_seed_s_setup(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, bot: Bot) -> None:
    connect(api, client, account, sender, bot.endpoint)
    handset = unused(US_LOCAL)
    inbound = sim.text(handset, sender, "hello bot")
    assert bodies(sim, handset, 1) == ["Echo: hello bot"]
    reply = client.messages.list(to=handset)[0]
    assert reply.from_ == sender and reply.body == "Echo: hello bot"
    log = api.get(f"/loft/v1/Accounts/{account[0]}/Messages/{inbound['sid']}/Webhooks").json()["webhooks"]
    assert [(entry["kind"], entry["status_code"]) for entry in log][-1] == ("bot", 201)


def test_two_replies_arrive_in_order(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, bot: Bot) -> None:
    connect(api, client, account, sender, bot.endpoint)
    handset = unused(US_LOCAL)
    sim.text(handset, sender, "two")
    assert bodies(sim, handset, 2) == ["first reply", "second reply"]


def test_cards_become_numbered_choices_and_attachments_media(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, bot: Bot) -> None:
    connect(api, client, account, sender, bot.endpoint)
    handset = unused(US_LOCAL)
    sim.text(handset, sender, "card")
    assert bodies(sim, handset, 1) == ["Pizza?\nPick one\n1. Margherita\n2. Diavola"]
    sim.text(handset, sender, "picture")
    eventually(lambda: len(client.messages.list(to=handset)) >= 2, timeout=30)
    picture = [m for m in client.messages.list(to=handset) if m.body == "an owl"][0]
    assert picture.num_media == "1"
    assert [media.uri for media in client.messages(picture.sid).media.list()]


def test_a_proactive_message_reaches_the_phone(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, bot: Bot) -> None:
    connect(api, client, account, sender, bot.endpoint)
    handset = unused(US_LOCAL)
    sim.text(handset, sender, "hi")
    bodies(sim, handset, 1)
    assert bot.notify("your pizza is on its way") == 1
    assert bodies(sim, handset, 2) == ["Echo: hi", "your pizza is on its way"]


def test_the_bot_starts_a_conversation_with_a_phone(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, bot: Bot) -> None:
    connected = connect(api, client, account, sender, bot.endpoint)
    handset = unused(US_LOCAL)
    conversation = bot.start_conversation(connected["service_url"], sender, handset, "a table for two is free")
    assert conversation == f"{handset}|{sender}"
    assert bodies(sim, handset, 1) == ["a table for two is free"]


def test_one_conversation_per_phone_and_number(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver) -> None:
    """The Activity as the bot receives it (captured by a receiver standing in for the bot)."""
    connect(api, client, account, sender, receiver.url("/api/messages"))
    handset = unused(US_LOCAL)
    first = sim.text(handset, sender, "one")
    sim.text(handset, sender, "two")
    calls = receiver.wait_for(lambda found: len(found) >= 2)
    activities = [json.loads(call.body) for call in calls]
    assert activities[0]["conversation"] == activities[1]["conversation"] == {"id": f"{handset}|{sender}",
                                                                             "isGroup": False}
    activity = activities[0]
    assert activity["type"] == "message" and activity["channelId"] == "sms" and activity["id"] == first["sid"]
    assert activity["from"]["id"] == handset and activity["recipient"]["id"] == sender
    assert activity["text"] == "one" and activity["channelData"]["MessageSid"] == first["sid"]
    assert activity["serviceUrl"].startswith(f"{api.base_url}".rstrip("/") + "/loft/botframework/")
    assert "authorization" not in calls[0].headers  # botbuilder's local mode: no token at all


def test_the_bot_is_tried_again_once_it_is_up(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim) -> None:
    down = Bot()
    connect(api, client, account, sender, down.endpoint)
    handset = unused(US_LOCAL)
    inbound = sim.text(handset, sender, "are you there")
    path = f"/loft/v1/Accounts/{account[0]}/Messages/{inbound['sid']}/Webhooks"
    failed = eventually(lambda: [entry for entry in api.get(path).json()["webhooks"] if entry["kind"] == "bot"],
                        timeout=30)
    assert failed[0]["error_code"] == 11205 and sim.inbox(handset) == []
    with down.running():
        assert bodies(sim, handset, 1) == ["Echo: are you there"]


def test_a_request_not_signed_by_the_account_is_refused(
        loft: LoftServer, api: httpx.Client, client: Client, account: tuple[str, str], sender: str,
        main_client: Client) -> None:
    created = api.post(f"/loft/v1/Accounts/{account[0]}/Bots",
                       data={"MessagingEndpoint": "http://127.0.0.1:9/api/messages"}).json()
    url = created["sms_url"]
    params = {"From": "+15558675310", "To": sender, "Body": "forged", "MessageSid": "SM" + "0" * 32}
    for signature in ("", RequestValidator(loft.auth_token).compute_signature(url, params), "bogus"):
        response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature} if signature else {})
        assert response.status_code == 403, response.text
    good = RequestValidator(account[1]).compute_signature(url, params)
    response = httpx.post(url, data=params, headers={"X-Twilio-Signature": good})
    assert response.status_code == 200 and response.text.endswith("<Response/>")


def test_the_documented_ten_line_bot_echoes(
        tmp_path: Path, api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim) -> None:
    document = (Path(__file__).parents[2] / "docs" / "bots.md").read_text()
    script = tmp_path / "echo.py"
    script.write_text(document.split("```python\n", 1)[1].split("```", 1)[0])
    with ScriptBot(script=script).running() as documented:
        connect(api, client, account, sender, documented.endpoint)
        handset = unused(US_LOCAL)
        sim.text(handset, sender, "from the docs")
        assert bodies(sim, handset, 1) == ["Echo: from the docs"]


def test_the_connector_takes_only_the_bot_s_own_key_and_the_account_s_numbers(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str) -> None:
    created = api.post(f"/loft/v1/Accounts/{account[0]}/Bots",
                       data={"MessagingEndpoint": "http://127.0.0.1:9/api/messages"}).json()
    service_url: str = created["service_url"]
    phone = unused(US_LOCAL)
    activity = {"type": "message", "text": "hello"}
    forged = service_url.rstrip("/").rsplit("/", 1)[0] + "/" + "A" * 32 + "/"
    conversation = f"{phone}|{sender}".replace("+", "%2B").replace("|", "%7C")
    response = httpx.post(f"{forged}v3/conversations/{conversation}/activities", json=activity)
    assert response.status_code == 404
    stranger = unused(US_LOCAL).replace("+", "%2B")
    response = httpx.post(f"{service_url}v3/conversations/{phone.replace('+', '%2B')}%7C{stranger}/activities",
                          json=activity)
    assert response.status_code == 400 and response.json()["code"] == 21606
    response = httpx.post(f"{service_url}v3/conversations/not-sms/activities", json=activity)
    assert response.status_code == 400 and response.json()["code"] == 20001
    assert client.messages.list(to=phone) == []
    typing = httpx.post(f"{service_url}v3/conversations/{conversation}/activities", json={"type": "typing"})
    assert typing.status_code == 200 and client.messages.list(to=phone) == []
    sent = httpx.post(f"{service_url}v3/conversations/{conversation}/activities/SM0", json=activity)
    assert sent.status_code == 200 and [m.sid for m in client.messages.list(to=phone)] == [sent.json()["id"]]


def test_media_reach_the_bot_as_attachments(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    receiver.answer("/owl.png", Answer(raw=PNG, content_type="image/png"))
    connect(api, client, account, sender, receiver.url("/api/messages"))
    handset = unused(US_LOCAL)
    sim.text(handset, sender, "look", media=[receiver.url("/owl.png")])
    call = receiver.wait_for(lambda found: any(c.path == "/api/messages" for c in found))
    activity = json.loads([c for c in call if c.path == "/api/messages"][0].body)
    assert activity["text"] == "look" and activity["channelData"]["NumMedia"] == "1"
    assert [a["contentType"] for a in activity["attachments"]] == ["image/png"]
    assert activity["attachments"][0]["contentUrl"] == activity["channelData"]["MediaUrl0"]


def test_an_sms_method_of_get_and_a_retried_request(
        api: httpx.Client, client: Client, account: tuple[str, str], sender: str, receiver: Receiver) -> None:
    bot = api.post(f"/loft/v1/Accounts/{account[0]}/Bots",
                   data={"MessagingEndpoint": receiver.url("/api/messages")}).json()
    validator = RequestValidator(account[1])
    params = {"From": "+15558675310", "To": sender, "Body": "by get", "MessageSid": "SM" + "1" * 32}
    url = bot["sms_url"] + "?" + urlencode(params)
    signature = validator.compute_signature(url, {})
    headers = {"X-Twilio-Signature": signature, "I-Twilio-Idempotency-Token": "once"}
    assert httpx.get(url, headers=headers).status_code == 200
    assert httpx.get(url, headers=headers).status_code == 200  # a retry: taken already
    after = {**params, "Body": "after", "MessageSid": "SM" + "2" * 32}
    signature = validator.compute_signature(bot["sms_url"], after)
    assert httpx.post(bot["sms_url"], data=after, headers={"X-Twilio-Signature": signature}).status_code == 200
    calls = receiver.wait_for(lambda found: any(json.loads(c.body)["text"] == "after" for c in found))
    assert sorted(json.loads(c.body)["text"] for c in calls) == ["after", "by get"]
