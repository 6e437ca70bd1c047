"""The SMPP carrier's connection: a refused bind keeps it down with one log line; while the SMSC is away its
messages wait queued, and go once it is back; a connection dropped or a submit left unanswered is bound again;
transmitter + receiver binds; how many binds a deployment makes; an unbind when Loft stops.

Each test has a Loft and an SMSC of its own (tests/support/smsc), and a carriers file routing ``+44`` to it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import make_server, server_of_its_own
from tests.support import clients
from tests.support.receiver import Receiver
from tests.support.server import LoftServer
from tests.support.smsc import ESME_RINVPASWD, ESME_ROK, Smsc, carriers_file
from tests.support.waiting import eventually

FAST = {"response_seconds": 1, "reconnect_max_seconds": 0.5}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


def _gateway(server: LoftServer, smsc: Smsc, tmp_path: Path, **settings: object) -> LoftServer:
    """``server`` with a carriers file routing ``+44`` to the carrier ``smsc``, bound to ``smsc``."""
    path = carriers_file(tmp_path / "carriers.toml", smsc, {"smsc": ("+44", {**FAST, **settings})})
    server.extra_env = {**server.extra_env, "LOFT_CARRIERS_FILE": str(path)}
    return server


def _sender(server: LoftServer, receiver: Receiver | None = None) -> tuple[Client, str]:
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    number = client.incoming_phone_numbers.create(
        area_code="415", **({"sms_url": receiver.url("/sms")} if receiver else {})).phone_number
    return client, number


def _statuses(client: Client, sids: list[str]) -> set[str]:
    return {str(client.messages(sid).fetch().status) for sid in sids}


def _carrier_up(server: LoftServer) -> str | None:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    found = re.search(r'^loft_carrier_up\{carrier="smsc"[^}]*\} (\S+)$', text, re.MULTILINE)
    return found and found[1]


@pytest.mark.parametrize("bare", [pytest.param(False, id="bind_resp-with-body"),
                                  pytest.param(True, id="header-only")])
def test_a_refused_bind_keeps_the_carrier_down_with_one_log_line(tmp_path: Path, smsc: Smsc, bare: bool) -> None:
    smsc.configure(bare_bind_errors=bare)
    server = make_server(tmp_path)
    _gateway(server, smsc, tmp_path, password="Wr0ngPw")
    with server.running():
        client, number = _sender(server)
        sid = client.messages.create(to="+447700900001", from_=number, body="waits").sid
        eventually(lambda: len(smsc.binds()) >= 3, timeout=15)  # it keeps trying, backing off

        assert {(bind.status, bind.bound) for bind in smsc.binds()} == {(ESME_RINVPASWD, False)}
        assert client.messages(sid).fetch().status == "queued"
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
        assert _carrier_up(server) == "0.0"
        log = server.log()
        refused = [line for line in log.splitlines() if "refused the bind" in line]
        assert len(refused) == 1, log
        assert "carrier smsc" in refused[0] and "check system_id and password" in refused[0]
        assert "Wr0ngPw" not in log and "Traceback" not in log


def test_messages_wait_queued_while_the_smsc_is_down_and_go_when_it_is_back(
        backend: pytest.FixtureRequest, tmp_path: Path, smsc: Smsc) -> None:
    server = _gateway(server_of_its_own(backend, tmp_path), smsc, tmp_path)
    with server.running():
        client, number = _sender(server)
        eventually(lambda: smsc.bound(), timeout=15)
        smsc.kill()
        tos = [f"+44770090{index:04d}" for index in range(5)]
        sids = [client.messages.create(to=to, from_=number, body=f"while down {to}").sid for to in tos]
        time.sleep(3)  # several reconnect attempts
        assert _statuses(client, sids) == {"queued"}
        assert _carrier_up(server) == "0.0"

        smsc.start()  # same ports, nothing remembered
        eventually(lambda: _statuses(client, sids) == {"delivered"}, timeout=20)
        assert sorted(submit.destination for submit in smsc.accepted()) == [to[1:] for to in tos]
        assert _carrier_up(server) == "1.0"
        log = server.log()
        assert len([line for line in log.splitlines() if "was lost" in line]) == 1, log
        assert len([line for line in log.splitlines() if "cannot bind" in line]) == 1, log
    # Stopping, Loft unbinds (smpp34 leaves a connection bound if it only closes).
    assert [(bind.bound, bind.unbound) for bind in smsc.binds()] == [(False, True)]


def test_receipts_of_a_dropped_connection_come_on_the_next_bind(tmp_path: Path, smsc: Smsc) -> None:
    server = _gateway(make_server(tmp_path), smsc, tmp_path)
    with server.running():
        client, number = _sender(server)
        eventually(lambda: smsc.bound(), timeout=15)
        smsc.delay_receipts(1000)
        sid = client.messages.create(to="+447700900002", from_=number, body="receipt later").sid
        eventually(lambda: _statuses(client, [sid]) == {"sent"})
        smsc.disconnect()  # the receipt, due in a second, waits for the next bind
        eventually(lambda: _statuses(client, [sid]) == {"delivered"}, timeout=15)
        assert len(smsc.binds()) == 2


def test_a_submit_left_unanswered_drops_the_connection_and_goes_again(tmp_path: Path, smsc: Smsc) -> None:
    """response_seconds = 1: the SMSC holds its answer for an hour, so Loft takes the connection for lost; the
    SMSC may have the message, which is sent again (at least once)."""
    server = _gateway(make_server(tmp_path), smsc, tmp_path)
    with server.running():
        client, number = _sender(server)
        eventually(lambda: smsc.bound(), timeout=15)
        smsc.delay_responses(3_600_000)
        sid = client.messages.create(to="+447700900003", from_=number, body="unanswered").sid
        smsc.wait_for_submits(1)
        eventually(lambda: len(smsc.binds()) >= 2, timeout=10)  # dropped and bound again
        smsc.delay_responses(0)
        eventually(lambda: _statuses(client, [sid]) == {"delivered"}, timeout=20)
        # The SMSC took it each time: the first answer never came, a later one did.
        texts = [submit.text for submit in smsc.accepted()]
        assert len(texts) >= 2 and set(texts) == {"unanswered"}
        log = server.log()
        assert "no answer to a submit_sm within 1 s" in log, log


def test_transmitter_and_receiver_binds(tmp_path: Path, smsc: Smsc, receiver: Receiver) -> None:
    server = _gateway(make_server(tmp_path), smsc, tmp_path, bind="transmitter+receiver")
    with server.running():
        client, number = _sender(server, receiver)
        eventually(lambda: len(smsc.bound()) == 2, timeout=15)
        assert sorted(bind.mode for bind in smsc.bound()) == ["receiver", "transmitter"]

        sid = client.messages.create(to="+447700900004", from_=number, body="over TX").sid
        eventually(lambda: _statuses(client, [sid]) == {"delivered"})  # its receipt came over RX
        [submit] = smsc.accepted()
        assert [bind.mode for bind in smsc.binds() if bind.id == submit.bind] == ["transmitter"]
        smsc.mo("+447700900005", number, "over RX")
        receiver.wait_for(lambda got: any(r.param("Body") == "over RX" for r in got))
    assert {(bind.mode, bind.bound, bind.unbound) for bind in smsc.binds()} == {
        ("transmitter", False, True), ("receiver", False, True)}


@pytest.mark.parametrize(("env", "instances", "binds"), [
    pytest.param({"LOFT_PROCESSES": "2"}, "one", 1, id="processes-2"),
    pytest.param({"LOFT_WORKER_PROCESSES": "2"}, "one", 1, id="worker-processes-2-one"),
    pytest.param({"LOFT_WORKER_PROCESSES": "2"}, "per-worker", 2, id="worker-processes-2-per-worker"),
])
def test_a_deployment_binds_once_or_once_per_worker(backend: pytest.FixtureRequest, tmp_path: Path, smsc: Smsc,
                                                    env: dict[str, str], instances: str, binds: int) -> None:
    server = _gateway(server_of_its_own(backend, tmp_path, **env), smsc, tmp_path, instances=instances)
    with server.running():
        client, number = _sender(server)
        eventually(lambda: len(smsc.bound()) >= binds, timeout=20)
        time.sleep(2)  # every process has started its carriers by now, if it would
        assert len(smsc.bound()) == binds and all(bind.status == ESME_ROK for bind in smsc.binds())
        assert len(smsc.binds()) == binds
        sids = [client.messages.create(to=f"+44770090{index:04d}", from_=number, body="counted").sid
                for index in range(6)]
        eventually(lambda: _statuses(client, sids) == {"delivered"}, timeout=20)
        assert len(smsc.binds()) == binds
