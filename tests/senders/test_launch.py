"""A new RCS sender's launch is an outbox job recorded with it: with no worker running it stays ``CREATING``, and
whichever worker runs next (a ``loft worker`` process here) brings it ``ONLINE``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import server_of_its_own
from tests.senders.conftest import agent
from tests.senders.conftest import request as sender_request
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.waiting import eventually


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_WORKERS="false")
    with server.running():
        yield server


def test_the_launch_waits_for_a_worker(api_only: LoftServer) -> None:
    client = clients.sdk(api_only.base_url, api_only.account_sid, api_only.auth_token)
    senders = client.messaging.v2.channels_senders
    created = senders.create(sender_request({"sender_id": agent()}))
    assert created.status == "CREATING"
    assert senders(created.sid).fetch().status == "CREATING"
    worker = api_only.spawn("worker")
    try:
        assert eventually(lambda: senders(created.sid).fetch().status == "ONLINE", timeout=30)
    finally:
        worker.terminate()
        worker.wait(15)
