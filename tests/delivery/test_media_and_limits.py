"""MMS media in both directions, TwiML limits (redirects, reply loops), and separate worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from tests.conftest import make_server
from tests.support import clients
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_outbound_media_is_fetched_checked_and_delivered_as_loft_media(
    loft: LoftServer, client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    receiver.answer("/cat.png", Answer(raw=PNG, content_type="image/png"))
    message = client.messages.create(to="+15558672001", from_=sender, body="a cat",
                                     media_url=[receiver.url("/cat.png")])
    eventually(lambda: status_of(client, message.sid) == "delivered")
    received = sim.inbox("+15558672001")[0]
    assert received["body"] == "a cat" and len(received["media_urls"]) == 1
    media_url = received["media_urls"][0]
    assert media_url.startswith(loft.base_url + f"/2010-04-01/Accounts/{account[0]}/Messages/{message.sid}/Media/ME")
    assert httpx.get(media_url).status_code == 401
    content = httpx.get(media_url, auth=account)
    assert content.status_code == 200 and content.content == PNG
    assert content.headers["content-type"] == "image/png"
    assert client.messages(message.sid).media.list()[0].content_type == "image/png"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        pytest.param(Answer(body="<html></html>", content_type="text/html"), 12300, id="html-12300"),
        pytest.param(Answer(status=404, body="gone"), 11200, id="missing-11200"),
        pytest.param(Answer(raw=b"x" * (600 * 1024), content_type="application/pdf"), 11751, id="too-big-11751"),
    ],
)
def test_unusable_outbound_media_fails_the_message(
    client: Client, sender: str, sim: Sim, receiver: Receiver, answer: Answer, code: int
) -> None:
    receiver.answer("/media", answer)
    message = client.messages.create(to="+15558672002", from_=sender, media_url=[receiver.url("/media")])
    eventually(lambda: status_of(client, message.sid) == "failed")
    assert client.messages(message.sid).fetch().error_code == code
    assert sim.inbox("+15558672002") == []


def test_inbound_media_is_stored_and_served_behind_the_accounts_auth(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    receiver.answer("/photo.png", Answer(raw=PNG, content_type="image/png"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/in"))
    inbound = sim.text("+15558672003", sender, "look", media=[receiver.url("/photo.png")])
    assert inbound["sid"].startswith("MM") and inbound["num_media"] == "1"
    call = receiver.wait_for(lambda rs: any(r.path == "/in" for r in rs))
    webhook = [c for c in call if c.path == "/in"][0]
    assert webhook.param("NumMedia") == "1" and webhook.param("MediaContentType0") == "image/png"
    media_url = webhook.param("MediaUrl0")
    assert media_url is not None and "/Media/ME" in media_url
    assert httpx.get(media_url, auth=account).content == PNG
    assert status_of(client, inbound["sid"]) == "received"


def test_a_redirect_loop_stops_after_fifty_documents(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    loop = MessagingResponse()
    loop.redirect(receiver.url("/loop"))
    receiver.answer("/loop", Answer(body=str(loop), content_type="text/xml"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/loop"))
    inbound = sim.text("+15558672004", sender, "spin")
    problems = eventually(lambda: [w for w in sim.webhooks(account[0], inbound["sid"]) if w["error_code"] == 14106],
                          timeout=30)
    assert problems
    assert len(receiver.to("/loop")) == 50


def test_reply_loops_are_cut_after_fifteen_replies_in_thirty_seconds(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    echo = MessagingResponse()
    echo.message("echo")
    receiver.answer("/echo", Answer(body=str(echo), content_type="text/xml"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/echo"))
    sids = [sim.text("+15558672005", sender, f"ping {i}")["sid"] for i in range(17)]
    receiver.wait_for(lambda rs: len(rs) >= 17, timeout=30)
    eventually(lambda: len(sim.webhooks(account[0], sids[-1])) >= 1)
    eventually(lambda: len(client.messages.list(to="+15558672005")) >= 15)
    replies = client.messages.list(to="+15558672005")
    assert len(replies) == 15
    cut = eventually(lambda: [w for sid in sids for w in sim.webhooks(account[0], sid) if w["error_code"] == 14107])
    assert len(cut) == 2


@pytest.fixture
def api_without_workers(tmp_path: Path) -> Iterator[LoftServer]:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_WORKERS": "false"}
    with server.running():
        yield server


def test_a_separate_loft_worker_process_delivers(api_without_workers: LoftServer) -> None:
    server = api_without_workers
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    sender = client.incoming_phone_numbers.create(area_code="415").phone_number
    message = client.messages.create(to="+15558672006", from_=sender, body="who delivers?")
    assert client.messages(message.sid).fetch().status == "queued"
    worker = server.spawn("worker")
    try:
        eventually(lambda: status_of(client, message.sid) == "delivered", timeout=30)
    finally:
        worker.terminate()
        worker.wait(10)
