"""Several `loft worker` processes on one database (PostgreSQL, or one SQLite file): exactly-once hand-off, and
takeover of a dead worker's claims once their lease expires."""

from __future__ import annotations

import base64
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import server_of_its_own
from tests.support import clients
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually

COUNT = 200


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_WORKERS="false", LOFT_JOB_LEASE_SECONDS="3")
    with server.running():
        yield server


def _queue_burst(server: LoftServer, http: httpx.Client) -> list[str]:
    base = f"/2010-04-01/Accounts/{server.account_sid}"
    sender = http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]
    sids = []
    for i in range(COUNT):
        response = http.post(f"{base}/Messages.json", data={"To": f"+1555869{i:04d}", "From": sender, "Body": f"w{i}"})
        assert response.status_code == 201
        sids.append(response.json()["sid"])
    return sids


def _client(server: LoftServer) -> httpx.Client:
    token = base64.b64encode(f"{server.account_sid}:{server.auth_token}".encode()).decode()
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Basic {token}"}, timeout=30)


def _assert_each_handset_got_its_message_once(http: httpx.Client, sids: list[str]) -> None:
    for i, sid in enumerate(sids):
        inbox = http.get(f"/sim/v1/Handsets/+1555869{i:04d}/Messages").json()["messages"]
        assert [m["sid"] for m in inbox] == [sid], f"handset {i}: {inbox}"


def _all_delivered(http: httpx.Client, server: LoftServer) -> bool:
    page = http.get(f"/2010-04-01/Accounts/{server.account_sid}/Messages.json", params={"PageSize": 1000}).json()
    return len(page["messages"]) == COUNT and all(m["status"] == "delivered" for m in page["messages"])


def test_two_workers_hand_each_message_over_exactly_once(api_only: LoftServer) -> None:
    with _client(api_only) as http:
        sids = _queue_burst(api_only, http)
        workers = [api_only.spawn("worker"), api_only.spawn("worker")]
        try:
            eventually(lambda: _all_delivered(http, api_only), timeout=90)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(15)
        _assert_each_handset_got_its_message_once(http, sids)


def test_a_killed_workers_claims_are_delivered_by_the_other(api_only: LoftServer) -> None:
    with _client(api_only) as http:
        sids = _queue_burst(api_only, http)
        doomed = api_only.spawn("worker")
        # Let it claim and start on work, then kill it without warning.
        eventually(lambda: any(m["status"] != "queued" for m in http.get(
            f"/2010-04-01/Accounts/{api_only.account_sid}/Messages.json", params={"PageSize": 1000}
        ).json()["messages"]), timeout=30)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        survivor = api_only.spawn("worker")
        try:
            eventually(lambda: _all_delivered(http, api_only), timeout=90)
        finally:
            survivor.terminate()
            survivor.wait(15)
        _assert_each_handset_got_its_message_once(http, sids)


def test_a_message_queued_before_its_account_was_suspended_fails_with_30002(api_only: LoftServer) -> None:
    main = clients.sdk(api_only.base_url, api_only.account_sid, api_only.auth_token)
    sub = main.api.accounts.create(friendly_name="suspended before its message leaves")
    client = clients.sdk(api_only.base_url, sub.sid, sub.auth_token)
    sender = client.incoming_phone_numbers.create(area_code="415").phone_number
    message = client.messages.create(to="+15558670001", from_=sender, body="queued, then suspended")
    main.api.accounts(sub.sid).update(status="suspended")
    worker = api_only.spawn("worker")
    try:
        failed = eventually(lambda: (found := client.messages(message.sid).fetch()).status == "failed" and found,
                            timeout=30)
    finally:
        worker.terminate()
        worker.wait(15)
    assert (failed.error_code, failed.error_message) == (30002, "Account suspended")


def test_a_claimed_send_s_status_callbacks_follow_it_in_its_worker_without_a_claim(
        api_only: LoftServer, receiver: Receiver) -> None:
    """A worker of one slot claims the older of two queued sends; the callbacks of the send it hands over are
    recorded under its lease and run in the same slot at once: the younger send, which a claim would take before
    them (it is due earlier), is still queued when they arrive."""
    receiver.answer("/held", Answer(status=204, delay=2.0))
    with _client(api_only) as http:
        base = f"/2010-04-01/Accounts/{api_only.account_sid}"
        sender = http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]
        first = http.post(f"{base}/Messages.json", data={"To": "+15558691001", "From": sender, "Body": "first",
                                                         "StatusCallback": receiver.url("/held")}).json()["sid"]
        second = http.post(f"{base}/Messages.json", data={"To": "+15558691002", "From": sender,
                                                          "Body": "second"}).json()["sid"]
        worker = api_only.spawn("worker", env={"LOFT_WORKER_CONCURRENCY": "1"})
        try:
            receiver.wait_for(lambda got: any(call.path == "/held" for call in got), timeout=60)
            assert http.get(f"{base}/Messages/{second}.json").json()["status"] == "queued"
            eventually(lambda: [call.param("MessageStatus") for call in receiver.to("/held")] == ["sent", "delivered"],
                       timeout=30)
            assert eventually(lambda: http.get(f"{base}/Messages/{second}.json").json()["status"] == "delivered",
                              timeout=30)
            assert http.get(f"{base}/Messages/{first}.json").json()["status"] == "delivered"
        finally:
            worker.terminate()
            worker.wait(15)
