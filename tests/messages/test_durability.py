"""A 201 means committed: acknowledged messages survive a SIGKILL of the server."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_of_its_own
from tests.support.server import LoftServer
from tests.support.waiting import eventually


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> LoftServer:
    """A server of this test's own, since the test kills it."""
    return server_of_its_own(request, tmp_path)


def _auth(server: LoftServer) -> dict[str, str]:
    token = base64.b64encode(f"{server.account_sid}:{server.auth_token}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_every_acknowledged_message_survives_sigkill(own_server: LoftServer) -> None:
    server = own_server
    server.start()
    base = f"{server.base_url}/2010-04-01/Accounts/{server.account_sid}"
    with httpx.Client(headers=_auth(server), timeout=30) as http:
        sender = http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]

        refused: list[int] = []

        def send(i: int) -> str | None:
            try:
                response = http.post(f"{base}/Messages.json",
                                     data={"To": f"+1555867{i:04d}", "From": sender, "Body": f"burst {i}"})
            except httpx.TransportError:
                return None  # the server died mid-request: never acknowledged
            if response.status_code != 201:
                refused.append(response.status_code)
                return None
            return str(response.json()["sid"])

        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(send, i) for i in range(400)]
            # Kill while requests are still in flight: some are acknowledged, some cut off.
            eventually(lambda: sum(1 for f in futures if f.done() and f.result()) >= 100, timeout=60)
            server.kill()
            acknowledged = [sid for sid in (f.result() for f in futures) if sid]

    assert refused == []  # before the kill every answer was a 201; after it, none came
    assert len(acknowledged) >= 100
    server.start()
    try:
        with httpx.Client(headers=_auth(server), timeout=30) as http:
            missing = [sid for sid in acknowledged
                       if http.get(f"{base}/Messages/{sid}.json").status_code != 200]
            stored = http.get(f"{base}/Messages.json", params={"PageSize": 1000}).json()["messages"]
    finally:
        server.stop()
    assert missing == []
    # Nothing half-written: every stored message is whole (a body and a status), acknowledged or not.
    assert all(m["body"].startswith("burst ") and m["status"] in ("queued", "sending", "sent", "delivered")
               for m in stored)
    assert {m["sid"] for m in stored} >= set(acknowledged)
