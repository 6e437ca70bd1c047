"""A worker with nothing to do sleeps until the first of its process's jobs falls due, not a whole poll interval:
a delivery report delayed half a second arrives then, however rarely the worker polls (loft.delivery.outbox's
``due_later`` and ``soonest``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loft.delivery import outbox
from tests.conftest import server_of_its_own
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

#: The worker's poll interval: far longer than any wait below, so what arrives sooner, the due time brought.
POLL_SECONDS = 120


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def polling_rarely(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_WORKER_POLL_SECONDS=str(POLL_SECONDS))
    with server.running():
        yield server


def test_a_delayed_delivery_report_arrives_when_due(polling_rarely: LoftServer) -> None:
    client = clients.sdk(polling_rarely.base_url, polling_rarely.account_sid, polling_rarely.auth_token)
    sender = client.incoming_phone_numbers.create(area_code="415").phone_number
    sim = Sim(polling_rarely.base_url, (polling_rarely.account_sid, polling_rarely.auth_token))
    try:
        for n, to in enumerate(("+15558691001", "+15558691002")):
            sim.configure(to, ReceiptDelayMs=500 + 300 * n)
            sid = client.messages.create(from_=sender, to=to, body="report later").sid
            assert eventually(lambda: status_of(client, sid) == "delivered", timeout=15)  # not 120 s
    finally:
        sim.http.close()


@pytest.fixture
def no_due_times() -> Iterator[None]:
    saved = list(outbox._due)
    outbox._due.clear()
    yield
    outbox._due[:] = saved


def test_soonest_is_the_first_due_time_no_claim_has_seen(no_due_times: None) -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert outbox.soonest(now) is None
    told: list[int] = []
    stop = outbox.watch(lambda: told.append(1))
    try:
        for seconds in (5, 1, 3):
            outbox.due_later(now + timedelta(seconds=seconds), now)
        outbox.due_later(now + outbox.SOON + timedelta(seconds=1), now)  # too far ahead to be kept
    finally:
        stop()
    assert len(told) == 2  # 5 s, then 1 s came first; 3 s did not
    assert outbox.soonest(now) == now + timedelta(seconds=1)
    # Due already but no claim looked since: still the first (a claim must look).
    assert outbox.soonest(now) == now + timedelta(seconds=1)
    assert outbox.soonest(now + timedelta(seconds=2)) == now + timedelta(seconds=3)  # a claim then saw the first
    assert outbox.soonest(now + timedelta(seconds=5)) is None
