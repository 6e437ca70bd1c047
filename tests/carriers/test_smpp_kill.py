"""SIGKILL of a Loft that delivers through an SMSC, in the middle of a burst: every message it acknowledged (201)
reaches the SMSC at least once, and one reaches it twice only if it was being handed over at the kill (the SMSC
took it, Loft's record of that was not committed: loft/delivery/handoff.py). The figures are printed (``-s``) and
kept in docs/carriers.md.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest

from tests.conftest import server_of_its_own
from tests.support import burst, clients
from tests.support.relay import query
from tests.support.server import LoftServer
from tests.support.smsc import Smsc, carriers_file
from tests.support.waiting import eventually

BURST = 400
SENDERS = 8
KILL_AT = BURST // 2  # acknowledged messages


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


def _in_flight(server: LoftServer) -> int:
    """Sends claimed by a worker whose message is still queued: each may have been handed over already."""
    return len(query(server, "SELECT o.subject_sid FROM outbox o JOIN messages m ON m.sid = o.subject_sid "
                             "WHERE o.kind = 'send' AND o.claimed_by IS NOT NULL AND m.status = 'queued'"))


def test_a_gateway_killed_mid_burst_hands_every_acknowledged_message_to_the_smsc(
        backend: pytest.FixtureRequest, tmp_path: Path, smsc: Smsc) -> None:
    path = carriers_file(tmp_path / "carriers.toml", smsc, {"smsc": ("+44", {"reconnect_max_seconds": 0.5})})
    server = server_of_its_own(backend, tmp_path, LOFT_CARRIERS_FILE=str(path), LOFT_JOB_LEASE_SECONDS="3")
    smsc.delay_responses(20)  # an SMSC a little way off: hand-offs overlap, as they do over a network
    with server.running():
        main = clients.sdk(server.base_url, server.account_sid, server.auth_token)
        number = main.incoming_phone_numbers.create(area_code="415").phone_number
        eventually(lambda: smsc.bound(), timeout=15)
        to = "+447700900777"
        acknowledged = burst.send_until_killed(server, (server.account_sid, server.auth_token), to=to, from_=number,
                                               count=BURST, kill_at=KILL_AT, senders=SENDERS)
        in_flight = _in_flight(server)
        server.start()  # its leases run out after 3 s; the claimed sends are handed over again

        def bodies() -> collections.Counter[str]:
            return collections.Counter(str(submit.text) for submit in smsc.accepted())

        eventually(lambda: all(bodies()[f"burst {index}"] for index in acknowledged), timeout=90)

        def left() -> collections.Counter[str]:
            found = {m.sid: str(m.status) for m in main.messages.list(to=to, page_size=1000)}
            return collections.Counter(found.get(sid, "missing") for sid in acknowledged.values())

        eventually(lambda: set(left()) <= {"sent", "delivered"}, timeout=60)  # every hand-off is recorded
        counts = bodies()
        duplicates = sum(count - 1 for count in counts.values())
        recorded = {str(row[0]) for row in query(server, "SELECT reference FROM carrier_references")}
        unrecorded = [submit.message_id for submit in smsc.accepted() if submit.message_id not in recorded]
        assert duplicates <= in_flight
        # Each duplicate is a hand-off whose record the kill prevented, and nothing else is.
        assert len(unrecorded) == duplicates
        # Receipts: those the SMSC sent and Loft had not acknowledged come again on the next bind; those smpp34
        # had acknowledged and Loft had not committed are lost with the process, and their messages stay sent.
        deadline = time.monotonic() + 20
        while left()["delivered"] < len(acknowledged) and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"\nsmpp kill ({backend.param}): {len(acknowledged)} acknowledged, {sum(counts.values())} taken by the "
              f"SMSC ({len(counts)} distinct), {in_flight} in flight at the kill, {duplicates} duplicates, "
              f"{left()['sent']} left sent (their receipt lost)")
