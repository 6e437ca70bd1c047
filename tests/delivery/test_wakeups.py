"""On PostgreSQL a `loft worker` beside API processes is woken by a notification when they record new sends,
not only at its next poll (loft.delivery.wakeups)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from loft.delivery import wakeups
from tests.conftest import server_of_its_own
from tests.support.server import LoftServer
from tests.support.waiting import eventually


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def api_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_WORKERS="false")
    with server.running():
        yield server


def test_a_worker_that_polls_rarely_delivers_a_new_send_at_once(api_only: LoftServer) -> None:
    token = base64.b64encode(f"{api_only.account_sid}:{api_only.auth_token}".encode()).decode()
    base = f"/2010-04-01/Accounts/{api_only.account_sid}"
    with httpx.Client(base_url=api_only.base_url, headers={"Authorization": f"Basic {token}"}, timeout=30) as http:
        sender = http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]

        def send_and_wait(to: str, timeout: float) -> float:
            sid = http.post(f"{base}/Messages.json", data={"To": to, "From": sender, "Body": "wake up"}).json()["sid"]
            began = time.monotonic()
            eventually(lambda: http.get(f"{base}/Messages/{sid}.json").json()["status"] == "delivered",
                       timeout=timeout)
            return time.monotonic() - began

        worker = api_only.spawn("worker", env={"LOFT_WORKER_POLL_SECONDS": "120"})
        try:
            send_and_wait("+15558690001", 60)  # the worker is up (its first look at the outbox found this one)
            time.sleep(1)  # its claim done, it waits: for a notification, or for two minutes
            assert send_and_wait("+15558690002", 10) < 10
            time.sleep(wakeups.REFRESH_SECONDS)  # the API process now knows the worker's own channel
            assert send_and_wait("+15558690003", 10) < 10
            listed = _listeners(api_only)
        finally:
            worker.terminate()
            worker.wait(15)
    assert len(listed) == 1 and listed[0].startswith(f"{wakeups.CHANNEL}_")
    assert _listeners(api_only) == []  # a worker that stops takes itself off the list


def _listeners(server: LoftServer) -> list[str]:
    async def read() -> list[str]:
        assert server.database_url is not None
        connection = await asyncpg.connect(server.database_url)
        try:
            return [row["channel"] for row in await connection.fetch("SELECT channel FROM listeners")]
        finally:
            await connection.close()

    return asyncio.run(read())
