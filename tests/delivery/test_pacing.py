"""Per-sender throughput: sends leave at the sender's rate, expire past their validity, overflow at 4 hours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import make_server
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import status_of
from tests.support.waiting import eventually


def _paced_server(tmp_path: Path, rates: dict[str, float]) -> Iterator[LoftServer]:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_SENDER_MPS": json.dumps(rates)}
    with server.running():
        yield server


@pytest.fixture
def one_per_second(tmp_path: Path) -> Iterator[LoftServer]:
    yield from _paced_server(tmp_path, {"local": 1.0})


@pytest.fixture
def one_per_thousand_seconds(tmp_path: Path) -> Iterator[LoftServer]:
    yield from _paced_server(tmp_path, {"local": 0.001})


def _client(server: LoftServer) -> tuple[Client, str]:
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    return client, client.incoming_phone_numbers.create(area_code="415").phone_number


def test_sends_from_one_sender_leave_at_its_rate(one_per_second: LoftServer) -> None:
    client, sender = _client(one_per_second)
    sids = [client.messages.create(to=f"+1555867050{i}", from_=sender, body="paced").sid for i in range(3)]
    eventually(lambda: all(status_of(client, sid) == "delivered" for sid in sids), timeout=20)
    sent = [client.messages(sid).fetch().date_sent for sid in sids]
    # Three one-segment messages at one per second: the third cannot leave before two seconds after the first
    # (date_sent has whole seconds, hence 1 s rather than 2 s of certain distance).
    assert (sent[2] - sent[0]).total_seconds() >= 1


def test_a_message_that_waits_past_its_validity_period_fails_with_30036(one_per_second: LoftServer) -> None:
    client, sender = _client(one_per_second)
    sids = [client.messages.create(to=f"+1555867060{i}", from_=sender, body="hurry", validity_period=1).sid
            for i in range(4)]
    eventually(lambda: all(status_of(client, sid) in ("delivered", "failed") for sid in sids), timeout=20)
    last = client.messages(sids[-1]).fetch()
    assert last.status == "failed" and last.error_code == 30036
    assert client.messages(sids[0]).fetch().status == "delivered"


def test_a_sender_with_four_hours_queued_refuses_with_21611(one_per_thousand_seconds: LoftServer) -> None:
    client, sender = _client(one_per_thousand_seconds)
    accepted = 0
    with pytest.raises(TwilioRestException) as overflow:
        for i in range(30):
            client.messages.create(to=f"+15558670{700 + i}", from_=sender, body="flood")
            accepted += 1
    assert overflow.value.code == 21611
    assert accepted == 15  # slots at 0, 1000, …, 14000 s are within 4 hours; 15000 s is not
