"""A crash mid-delivery: every message still reaches a final state, none reaches a handset twice, and no
status callback is lost (each event arrives at least once, always with the same idempotency token)."""

from __future__ import annotations

import base64
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_of_its_own
from tests.support.receiver import Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> LoftServer:
    return server_of_its_own(request, tmp_path, LOFT_JOB_LEASE_SECONDS="3")


def test_sigkill_mid_delivery_loses_and_duplicates_nothing(own_server: LoftServer, receiver: Receiver) -> None:
    server = own_server
    server.start()
    token = base64.b64encode(f"{server.account_sid}:{server.auth_token}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    base = f"/2010-04-01/Accounts/{server.account_sid}"
    count = 150
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        sender = http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]
        sids = []
        for i in range(count):
            response = http.post(f"{base}/Messages.json", data={
                "To": f"+1555868{i:04d}", "From": sender, "Body": f"crash {i}",
                "StatusCallback": receiver.url("/status")})
            assert response.status_code == 201
            sids.append(response.json()["sid"])
        # Kill while delivery is under way: some messages are delivered, some are not yet.
        receiver.wait_for(lambda rs: sum(r.param("MessageStatus") == "delivered" for r in rs) >= 10)
    server.kill()
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
            def all_final() -> bool:
                page = http.get(f"{base}/Messages.json", params={"PageSize": 1000}).json()["messages"]
                return len(page) == count and all(m["status"] == "delivered" for m in page)

            eventually(all_final, timeout=60)
            for i, sid in enumerate(sids):
                inbox = http.get(f"/sim/v1/Handsets/+1555868{i:04d}/Messages").json()["messages"]
                assert [m["sid"] for m in inbox] == [sid], f"handset {i} received {inbox}"
        events: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

        def every_callback_arrived() -> bool:
            events.clear()
            for call in receiver.to("/status"):
                sid, status = call.param("MessageSid"), call.param("MessageStatus")
                assert sid and status
                events[sid][status].add(call.headers["i-twilio-idempotency-token"])
            return all(set(events[sid]) == {"sent", "delivered"} for sid in sids)

        eventually(every_callback_arrived, timeout=60)
        # Retries of one event reuse its token.
        assert all(len(tokens) == 1 for per_status in events.values() for tokens in per_status.values())
    finally:
        server.stop()
