"""SIGKILL of a relaying Loft in the middle of a burst: every message it acknowledged (201) reaches the upstream at
least once, and a message reaches it twice only if it was being handed over at the kill (its hand-off made, its
record not committed: loft/delivery/handoff.py). The figures are printed (``-s``) and kept in docs/carriers.md.
"""

from __future__ import annotations

import collections
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from tests.conftest import make_server
from tests.support import burst, relay
from tests.support.server import LoftServer
from tests.support.waiting import eventually

BURST = 400
SENDERS = 8
KILL_AT = BURST // 2  # acknowledged messages


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("own_postgres_database") if request.param == "postgres" else None


def _in_flight(front: LoftServer) -> int:
    """Sends claimed by a worker whose message is still queued: each may have been handed over already."""
    return len(relay.query(front, "SELECT o.subject_sid FROM outbox o JOIN messages m ON m.sid = o.subject_sid "
                                  "WHERE o.kind = 'send' AND o.claimed_by IS NOT NULL AND m.status = 'queued'"))


def test_a_relay_killed_mid_burst_hands_every_acknowledged_message_upstream(tmp_path: Path,
                                                                            backend: str | None) -> None:
    upstream = make_server(tmp_path / "upstream")
    front = make_server(tmp_path / "front", backend)
    front.extra_env = {**relay.front_env(front, relay.carriers_file(tmp_path / "carriers.toml", upstream)),
                       "LOFT_JOB_LEASE_SECONDS": "3"}
    with ExitStack() as stack, upstream.running():
        number = relay.buy_upstream(upstream, front, sms_url=False)
        with front.running():
            line = stack.enter_context(closing(relay.open_line(upstream, front, number=number)))
            to = relay.destination()
            acknowledged = burst.send_until_killed(front, line.tenant_auth, to=to, from_=number, count=BURST,
                                                   kill_at=KILL_AT, senders=SENDERS)
            in_flight = _in_flight(front)
            front.start()  # its leases run out after 3 s; the claimed sends are handed over again

            def upstream_bodies() -> collections.Counter[str]:
                return collections.Counter(str(m.body) for m in line.upstream.messages.list(from_=number, to=to)
                                           if m.direction == "outbound-api")

            eventually(lambda: all(upstream_bodies()[f"burst {index}"] for index in acknowledged), timeout=90)
            counts = upstream_bodies()
            duplicates = sum(count - 1 for count in counts.values())
            print(f"\nrelay kill ({backend and 'postgresql' or 'sqlite'}): {len(acknowledged)} acknowledged, "
                  f"{sum(counts.values())} received upstream ({len(counts)} distinct), {in_flight} in flight at "
                  f"the kill, {duplicates} duplicates")
            assert duplicates <= in_flight
            # Every acknowledged message left (the callbacks of those sent just before the kill may be lost with it).

            def all_left() -> bool:
                found = {m.sid: m.status for m in line.tenant.messages.list(to=to)}
                return all(found.get(sid) in ("sent", "delivered") for sid in acknowledged.values())

            eventually(all_left, timeout=30)
