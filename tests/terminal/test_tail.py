"""``loft tail``: message status changes and webhook attempts, once (``--once``) or live."""

from __future__ import annotations

import signal
import socket

import httpx
import pexpect
from twilio.rest import Client

from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually
from tests.terminal.conftest import Cli, Terminal, before, settled


def _webhooks(loft: LoftServer, account: tuple[str, str], sid: str) -> list[dict[str, object]]:
    response = httpx.get(f"{loft.base_url}/loft/v1/Accounts/{account[0]}/Messages/{sid}/Webhooks", auth=account)
    found: list[dict[str, object]] = response.json()["webhooks"]
    return found


def _scene(loft: LoftServer, account: tuple[str, str], client: Client, sender: str,
           receiver: Receiver) -> tuple[str, str]:
    """An outbound message with status callbacks, and an inbound one answered by a webhook."""
    receiver.answer("/bot", Answer(body="<Response/>", content_type="text/xml"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/bot"))
    outbound = client.messages.create(to="+15550040001", from_=sender, body="order shipped",
                                      status_callback=receiver.url("/status")).sid
    eventually(lambda: settled(client, outbound))
    eventually(lambda: len(_webhooks(loft, account, outbound)) >= 2)  # sent, delivered
    response = httpx.post(f"{loft.base_url}/sim/v1/Handsets/+15550040002/Messages", auth=account,
                          data={"To": sender, "Body": "where is it?"})
    inbound = response.json()["sid"]
    eventually(lambda: _webhooks(loft, account, inbound))
    return outbound, inbound


def test_once_prints_each_message_and_each_webhook_attempt(loft: LoftServer, account: tuple[str, str],
                                                           client: Client, sender: str, receiver: Receiver,
                                                           cli: Cli) -> None:
    outbound, inbound = _scene(loft, account, client, sender, receiver)
    result = cli("tail", "--once")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    mine = [line for line in lines if outbound in line]
    assert "+15550040001" in mine[0] and "delivered" in mine[0] and "'order shipped'" in mine[0]
    callbacks = [line for line in mine if "status_callback" in line]
    assert len(callbacks) == 2 and all(receiver.url("/status") in line and "→ 200" in line for line in callbacks)
    assert {status for status in ("sent", "delivered") for line in callbacks if f"({status})" in line} == {
        "sent", "delivered"}
    theirs = [line for line in lines if inbound in line]
    assert "inbound" in theirs[0] and "received" in theirs[0] and "'where is it?'" in theirs[0]
    assert "webhook inbound #1 POST " + receiver.url("/bot") + " → 200" in theirs[1]
    assert lines.index(mine[0]) < lines.index(theirs[0])  # oldest first
    assert len(mine) + len(theirs) == len(lines)  # each event once


def test_a_refused_status_callback_reads_connection_refused_by_host_and_port(
        loft: LoftServer, account: tuple[str, str], client: Client, sender: str, cli: Cli) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sid = client.messages.create(to="+15550040009", from_=sender, body="anyone?",
                                 status_callback=f"http://127.0.0.1:{port}/status").sid
    attempts = eventually(lambda: _webhooks(loft, account, sid))
    assert (attempts[0]["error_code"], attempts[0]["error_message"]) == (
        11205, f"connection refused by 127.0.0.1:{port}")
    lines = [line for line in cli("tail", "--once").output.splitlines() if sid in line and "status_callback" in line]
    assert lines and f"→ no answer 11205 connection refused by 127.0.0.1:{port} " in lines[0]


def test_once_filters_by_direction_status_and_number(loft: LoftServer, account: tuple[str, str], client: Client,
                                                     sender: str, receiver: Receiver, cli: Cli) -> None:
    outbound, inbound = _scene(loft, account, client, sender, receiver)
    only_inbound = cli("tail", "--once", "--direction", "inbound").output
    assert inbound in only_inbound and outbound not in only_inbound
    delivered = cli("tail", "--once", "--status", "delivered", "--no-webhooks").output
    assert outbound in delivered and inbound not in delivered and "webhook" not in delivered
    to_handset = cli("tail", "--once", "--to", "+15550040001").output
    assert outbound in to_handset and inbound not in to_handset
    assert cli("tail", "--once", "--from", "+15550049999").output == ""
    assert outbound not in cli("tail", "--once", "-n", "1").output


def test_an_unknown_direction_is_refused(cli: Cli) -> None:
    result = cli("tail", "--once", "--direction", "sideways")
    assert result.exit_code == 1 and "Unknown direction" in result.output


def test_live_tail_shows_new_messages_and_webhooks_as_they_happen(client: Client, sender: str,
                                                                  receiver: Receiver, terminal: Terminal) -> None:
    old = client.messages.create(to="+15550040003", from_=sender, body="before tail").sid
    eventually(lambda: settled(client, old))
    tail = terminal.spawn("tail", "-n", "0", "--interval", "0.2")
    tail.expect("Ctrl-C stops")  # it has started, and printed nothing of the past
    assert old not in before(tail)
    new = client.messages.create(to="+15550040004", from_=sender, body="during tail",
                                 status_callback=receiver.url("/status")).sid
    tail.expect_exact(new)
    tail.expect_exact("'during tail'")
    for _ in range(2):  # sent, delivered: whatever order they were recorded in
        tail.expect(r"status_callback \((sent|delivered)\)")
    tail.kill(signal.SIGINT)  # Ctrl-C
    tail.expect(pexpect.EOF)
    assert old not in before(tail)
    tail.close()
    assert tail.exitstatus == 0
