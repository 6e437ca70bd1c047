"""RCS senders through the SDK (``client.messaging.v2.channels_senders``): created ``CREATING`` and answered 202,
``ONLINE`` once the simulated launch is over (an outbox job, by Loft's clock), listed by channel, changed, deleted;
another account's not found; every bad field refused naming it; responses checked against
``twilio_messaging_v2.json``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.messaging.v2.channels_sender import ChannelsSenderList

from tests.messaging_services.conftest import refused
from tests.senders.conftest import PROFILE, WEBHOOK, agent, request
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.waiting import eventually


def test_a_sender_is_created_then_goes_online(loft: LoftServer, client: Client,
                                               create_sender: Callable[..., Any]) -> None:
    sender_id = agent()
    created = create_sender(sender_id=sender_id, webhook=WEBHOOK, profile=PROFILE)
    assert created.sid.startswith("XE") and created.sender_id == sender_id
    assert created.status == "CREATING"
    assert created.url == f"{loft.base_url}/v2/Channels/Senders/{created.sid}"
    assert created.webhook == WEBHOOK
    assert {key: created.profile[key] for key in PROFILE} == PROFILE
    fetch = client.messaging.v2.channels_senders(created.sid).fetch
    assert eventually(lambda: fetch().status == "ONLINE", timeout=10)


def test_a_create_is_answered_202(loft: LoftServer, account: tuple[str, str]) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        answer = clients.checked(http.post("/v2/Channels/Senders", json={"sender_id": agent()}))
    assert answer.status_code == 202 and answer.json()["status"] == "CREATING"
    assert answer.json()["configuration"] is None and answer.json()["webhook"]["callback_url"] is None


def test_senders_are_listed_by_channel(client: Client, create_sender: Callable[..., Any]) -> None:
    first, second = create_sender(), create_sender()
    senders = client.messaging.v2.channels_senders
    assert [each.sid for each in senders.list(channel="rcs")] == [first.sid, second.sid]
    assert [each.sid for each in senders.list(channel="rcs", page_size=1)] == [first.sid, second.sid]
    assert senders.list(channel="whatsapp") == []


@pytest.mark.parametrize(("query", "message"), [
    pytest.param("", "Missing required parameter Channel", id="no-channel"),
    pytest.param("?Channel=fax", "Channel must be rcs or whatsapp", id="bad-channel"),
])
def test_a_list_needs_its_channel(loft: LoftServer, account: tuple[str, str], query: str, message: str) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        answer = clients.checked(http.get(f"/v2/Channels/Senders{query}"))
    assert (answer.status_code, answer.json()["code"]) == (400, 20001) and message in answer.json()["message"]


def test_a_sender_is_changed_and_deleted(client: Client, create_sender: Callable[..., Any]) -> None:
    created = create_sender(profile={"name": "Acme"})
    changed = client.messaging.v2.channels_senders(created.sid).update(
        ChannelsSenderList.MessagingV2ChannelsSenderRequestsUpdate(
            {"webhook": {"callback_url": "https://example.com/new"}, "profile": {"description": "New"}}))
    assert changed.webhook["callback_url"] == "https://example.com/new"
    assert (changed.profile["name"], changed.profile["description"]) == ("Acme", "New")
    assert client.messaging.v2.channels_senders(created.sid).delete() is True
    assert refused(client.messaging.v2.channels_senders(created.sid).fetch).status == 404
    assert client.messaging.v2.channels_senders.list(channel="rcs") == []


def test_another_account_s_sender_is_not_found(client: Client, other_client: Client,
                                               create_sender: Callable[..., Any]) -> None:
    created = create_sender()
    other = other_client.messaging.v2.channels_senders(created.sid)
    for call in (other.fetch, other.delete, lambda: other.update(
            ChannelsSenderList.MessagingV2ChannelsSenderRequestsUpdate({"profile": {"name": "Mine"}}))):
        error = refused(call)
        assert (error.status, error.code) == (404, 20404)
    assert other_client.messaging.v2.channels_senders.list(channel="rcs") == []


def test_a_sender_id_is_unique(client: Client, create_sender: Callable[..., Any], other_client: Client) -> None:
    created = create_sender()
    for someone in (client, other_client):
        error = refused(partial(someone.messaging.v2.channels_senders.create, request({"sender_id": created.sender_id})))
        assert (error.status, error.code) == (400, 20001) and "exists already" in error.msg


BAD = [
    pytest.param({}, "Missing required parameter sender_id", id="no-sender-id"),
    pytest.param({"sender_id": "acme"}, "sender_id must be rcs:<agent>", id="no-channel"),
    pytest.param({"sender_id": "rcs:"}, "sender_id must be rcs:<agent>", id="no-agent"),
    pytest.param({"sender_id": "rcs:acme agent"}, "sender_id must be rcs:<agent>", id="space-in-agent"),
    pytest.param({"sender_id": "rcs:" + "a" * 61}, "sender_id must be rcs:<agent>", id="long-agent"),
    pytest.param({"sender_id": "whatsapp:+15005550006"}, "WhatsApp senders need Meta", id="whatsapp"),
    pytest.param({"configuration": {"waba_id": "123"}}, "'configuration' parameter is not supported",
                 id="whatsapp-configuration"),
    pytest.param({"webhook": {"callback_url": "not a url"}}, "webhook.callback_url URL 'not a url' is not a valid",
                 id="bad-callback-url"),
    pytest.param({"webhook": {"callback_method": "GET"}}, "webhook.callback_method must be POST or PUT",
                 id="bad-callback-method"),
    pytest.param({"profile": {"accent_color": "blue"}}, "profile.accent_color must be a hex colour", id="bad-color"),
    pytest.param({"profile": {"logo_url": "ftp://example.com/logo.png"}}, "profile.logo_url URL", id="bad-logo-url"),
    pytest.param({"profile": {"name": 7}}, "profile.name must be a string", id="name-not-a-string"),
    pytest.param({"profile": {"emails": {"email": "a@b.c"}}}, "profile.emails must be a list", id="emails-not-a-list"),
    pytest.param({"profile": {"emails": [{"address": "a@b.c"}]}}, "profile.emails[0].address is not a field",
                 id="unknown-email-field"),
    pytest.param({"profile": {"colour": "#FFFFFF"}}, "profile.colour is not a field", id="unknown-profile-field"),
    pytest.param({"webhook": "https://example.com"}, "webhook must be an object", id="webhook-not-an-object"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_sender_is_refused_naming_the_field(loft: LoftServer, account: tuple[str, str], client: Client,
                                                  body: dict[str, Any], message: str) -> None:
    payload = body if "sender_id" in body or not body else {"sender_id": agent(), **body}
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        answer = clients.checked(http.post("/v2/Channels/Senders", json=payload))
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)
    assert message in answer.json()["message"], answer.json()["message"]
    assert client.messaging.v2.channels_senders.list(channel="rcs") == []


def test_concurrent_creates_of_one_sender_id_make_one_sender(loft: LoftServer, account: tuple[str, str],
                                                             client: Client) -> None:
    """Racing creates of the same ``sender_id``: one is answered 202, the others 400 (20001), none 500."""
    sender_id = agent()

    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
            return clients.checked(http.post("/v2/Channels/Senders", json={"sender_id": sender_id}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(create, range(8)))
    assert sorted(answer.status_code for answer in answers) == [202] + [400] * 7
    assert {answer.json()["code"] for answer in answers if answer.status_code == 400} == {20001}
    assert [each.sender_id for each in client.messaging.v2.channels_senders.list(channel="rcs")] == [sender_id]
