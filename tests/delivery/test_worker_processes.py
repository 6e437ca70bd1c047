"""``loft serve`` with ``LOFT_WORKER_PROCESSES``: delivery runs in child ``loft worker`` processes, which the
server wakes after each commit, starts again when they die, and takes down with it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from twilio.rest import Client

from loft.config import Settings
from tests.conftest import make_server, server_of_its_own
from tests.support import children, clients
from tests.support.receiver import Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually

#: The children's poll interval: far longer than any wait below, so what they deliver sooner, the server's
#: wake-up brought them.
POLL_SECONDS = 120


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def supervising(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_WORKER_PROCESSES="1", LOFT_WORKER_POLL_SECONDS=str(POLL_SECONDS))
    with server.running():
        yield server


def _client(server: LoftServer) -> tuple[Client, str]:
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    return client, client.incoming_phone_numbers.create(area_code="415").phone_number


def _delivered(receiver: Receiver, sid: str, timeout: float = 30) -> None:
    receiver.wait_for(lambda got: any(r.param("MessageSid") == sid and r.param("MessageStatus") == "delivered"
                                      for r in got), timeout=timeout)


def test_delivery_runs_in_the_worker_process_which_the_server_wakes(supervising: LoftServer,
                                                                     receiver: Receiver) -> None:
    worker = children.only(supervising, "worker")
    client, sender = _client(supervising)
    callback = receiver.url("/status")
    first = client.messages.create(to="+15558675310", from_=sender, body="one", status_callback=callback)
    _delivered(receiver, first.sid)  # the worker is up and has been through its loop at least once
    time.sleep(1)  # and has recorded that callback (frozen inside a transaction, it would hold up SQLite's writers)

    os.kill(worker, signal.SIGSTOP)
    try:
        second = client.messages.create(to="+15558675311", from_=sender, body="two", status_callback=callback)
        time.sleep(1.5)
        # Nothing in the server's own process delivers: the message waits for its (frozen) worker.
        assert client.messages(second.sid).fetch().status == "queued"
    finally:
        os.kill(worker, signal.SIGCONT)
    # The wake-up written while it was frozen waits in its pipe: it claims at once, not after its poll.
    _delivered(receiver, second.sid, timeout=POLL_SECONDS / 4)


def test_a_worker_that_dies_is_started_again(tmp_path: Path, receiver: Receiver) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_WORKER_PROCESSES": "1"}
    with server.running():
        doomed = children.only(server, "worker")
        os.kill(doomed, signal.SIGKILL)
        replacement = eventually(lambda: [pid for pid in children.supervised(server, "worker") if pid != doomed],
                                 timeout=30)
        assert len(replacement) == 1
        client, sender = _client(server)
        message = client.messages.create(to="+15558675312", from_=sender, body="after",
                                         status_callback=receiver.url("/status"))
        _delivered(receiver, message.sid)
        assert "loft worker #1 (pid %d) exited with code -9" % doomed in server.log()


def test_stopping_the_server_stops_its_workers(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_WORKER_PROCESSES": "2"}
    with server.running():
        workers = eventually(lambda: len(children.supervised(server, "worker")) == 2
                             and children.supervised(server, "worker"), timeout=30)
    # It shut down within LoftServer.stop's grace (a kill would say -9); uvicorn exits by the signal it handled.
    assert server.process is not None and server.process.returncode == -signal.SIGTERM
    eventually(lambda: all(children.gone(pid) for pid in workers), timeout=15)


def test_a_killed_servers_workers_do_not_outlive_it(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_WORKER_PROCESSES": "1"}
    with server.running():
        worker = children.only(server, "worker")
        server.kill()
        # Its pipe closed with it: the worker finishes what it runs and exits.
        eventually(lambda: children.gone(worker), timeout=15)


def test_worker_processes_need_a_database_other_processes_can_open() -> None:
    with pytest.raises(ValidationError, match="LOFT_WORKER_PROCESSES needs a database other processes can open"):
        Settings(worker_processes=1, database_url="sqlite:///:memory:")
    assert Settings(worker_processes=2, database_url="sqlite:///:memory:", workers=False).delivery_processes == 0
    assert Settings(worker_processes=2).delivery_processes == 2
    assert Settings().delivery_processes == 0  # by default loft serve delivers in its own process


def test_ctrl_c_stops_the_server_and_its_workers_without_a_restart(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_WORKER_PROCESSES": "1"}
    with server.running():
        worker = children.only(server, "worker")
        assert server.process is not None
        # Ctrl-C signals the terminal's foreground process group: the worker is in a session of its own,
        # so only the server hears it, and the server stops the worker.
        assert os.getsid(worker) == worker != os.getsid(server.process.pid)
        server.process.send_signal(signal.SIGINT)
        server.process.wait(30)
        eventually(lambda: children.gone(worker), timeout=15)
    assert "exited with code" not in server.log()  # stopped by its server, not lost and restarted
