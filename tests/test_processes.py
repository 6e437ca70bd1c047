"""``loft serve --processes N``: N API processes on one address (the kernel spreads connections over them), each
delivering what it accepts, on one SQLite file or one PostgreSQL database; restarted when they die, stopped with
the server, and no sharing of a port with a server that was there first."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from loft import processes
from loft.config import Settings
from tests.conftest import make_server, server_of_its_own
from tests.support import children
from tests.support.server import LoftServer
from tests.support.waiting import eventually

CONNECTIONS = 16
MESSAGES = 240


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path, LOFT_PROCESSES="2")
    with server.running():
        yield server


def _listening(server: LoftServer, pid: int) -> bool:
    """Whether process ``pid`` has a socket listening on the server's port."""
    return bool(_sockets(pid) & _inodes(server.port, state="0A"))


def _sockets(pid: int) -> set[int]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[len("socket:["):-1]))
    return found


def _inodes(port: int, *, state: str) -> set[int]:
    """Inodes of the TCP sockets on 127.0.0.1 whose local port is ``port``, in ``state`` (0A listen, 01 open)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, st, inode = fields[1], fields[3], int(fields[9])
        if int(local.split(":")[1], 16) == port and st == state:
            inodes.add(inode)
    return inodes


def test_the_processes_share_the_address_and_deliver_every_message_once(two: LoftServer) -> None:
    child = children.only(two, "serve")
    assert two.process is not None
    # The server answers only once its child is up: clients that connect from then on are spread over both.
    assert _listening(two, child)
    assert _listening(two, two.process.pid)
    auth = (two.account_sid, two.auth_token)
    base = f"/2010-04-01/Accounts/{two.account_sid}"
    clients = [httpx.Client(base_url=two.base_url, auth=auth, timeout=30) for _ in range(CONNECTIONS)]
    try:
        sender = clients[0].post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]
        for http in clients:  # one keep-alive connection each
            assert http.get("/healthz").status_code == 200
        open_ = _inodes(two.port, state="01")
        by_process = {pid: len(_sockets(pid) & open_) for pid in (two.process.pid, child)}
        assert sum(by_process.values()) == CONNECTIONS
        assert all(count > 0 for count in by_process.values()), by_process  # the kernel spread them
        sids = []
        for i in range(MESSAGES):
            response = clients[i % CONNECTIONS].post(f"{base}/Messages.json", data={
                "To": f"+1555871{i:04d}", "From": sender, "Body": f"p{i}"})
            assert response.status_code == 201, response.text
            sids.append(response.json()["sid"])

        def delivered() -> bool:
            page = clients[0].get(f"{base}/Messages.json", params={"PageSize": 1000}).json()["messages"]
            return sum(1 for m in page if m["status"] == "delivered") == MESSAGES

        eventually(delivered, timeout=60)
        for i, sid in enumerate(sids):
            inbox = clients[0].get(f"/sim/v1/Handsets/+1555871{i:04d}/Messages").json()["messages"]
            assert [m["sid"] for m in inbox] == [sid], f"handset {i}: {inbox}"
    finally:
        for http in clients:
            http.close()
    assert "Traceback" not in two.log()


def test_an_api_process_that_dies_is_started_again(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_PROCESSES": "2"}
    with server.running():
        doomed = children.only(server, "serve")
        os.kill(doomed, signal.SIGKILL)
        replacement = eventually(lambda: [pid for pid in children.supervised(server, "serve") if pid != doomed],
                                 timeout=30)
        assert len(replacement) == 1
        eventually(lambda: _listening(server, replacement[0]), timeout=30)
        assert "loft serve #1 (pid %d) exited with code -9" % doomed in server.log()


def test_stopping_the_server_stops_its_api_processes(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_PROCESSES": "3"}
    with server.running():
        started = eventually(lambda: len(children.supervised(server, "serve")) == 2
                             and children.supervised(server, "serve"), timeout=30)
    assert server.process is not None and server.process.returncode == -signal.SIGTERM
    eventually(lambda: all(children.gone(pid) for pid in started), timeout=15)


def test_a_killed_servers_api_processes_do_not_outlive_it(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_PROCESSES": "2"}
    with server.running():
        child = children.only(server, "serve")
        eventually(lambda: _listening(server, child), timeout=30)
        server.kill()
        eventually(lambda: children.gone(child), timeout=15)  # its pipe closed with the server: it stops


def test_a_server_does_not_share_its_port_with_one_already_there(tmp_path: Path) -> None:
    first = make_server(tmp_path / "first")
    with first.running():
        second = make_server(tmp_path / "second")
        second.port = first.port
        done = subprocess.run([sys.executable, "-m", "loft", "serve", "--port", str(first.port), "--processes", "2"],
                              env=second.env(), capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 1
        assert "Address already in use" in done.stdout + done.stderr


def test_processes_need_a_database_other_processes_can_open() -> None:
    with pytest.raises(ValidationError, match="LOFT_PROCESSES needs a database other processes can open"):
        Settings(processes=2, database_url="sqlite:///:memory:")
    assert Settings().processes == 1


#: A child that writes a file, then says on its --ready-fd that it is up, then runs until its stdin closes.
_SAYS_READY = ("import os, sys; open(sys.argv[1], 'w').close(); os.write(int(sys.argv[-1]), b'r'); "
               "sys.stdin.read()")


def test_starting_api_children_waits_until_each_says_it_is_up(tmp_path: Path) -> None:
    marks = [tmp_path / f"up-{i}" for i in range(2)]

    async def main() -> list[bool]:
        group = processes.Children("loft serve", [[sys.executable, "-c", "import time; time.sleep(0.3); "
                                                   + _SAYS_READY, str(mark)] for mark in marks], ready=True)
        await group.start()
        seen = [mark.exists() for mark in marks]
        await group.stop()
        return seen

    assert asyncio.run(main()) == [True, True]


def test_a_child_that_dies_before_it_is_up_is_not_waited_for(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    mark = tmp_path / "up"

    async def main() -> bool:
        group = processes.Children("loft serve", [[sys.executable, "-c", "raise SystemExit(3)"],
                                                  [sys.executable, "-c", _SAYS_READY, str(mark)]], ready=True)
        await asyncio.wait_for(group.start(), timeout=processes.READY_WAIT / 2)
        up = mark.exists()
        await group.stop()
        return up

    with caplog.at_level(logging.WARNING, logger="loft.processes"):
        assert asyncio.run(main())
    assert "loft serve #1" in caplog.text and "was not up" in caplog.text


def test_processes_that_do_not_migrate_do_not_load_alembic() -> None:
    """Only the process that migrates needs Alembic: ~10 MB of memory in each API child and worker child."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, loft.app, loft.cli, loft.delivery.worker; "
                             "print('alembic' in sys.modules)"], capture_output=True, text=True, timeout=60,
                            check=True)
    assert loaded.stdout.strip() == "False"


# LOFT_PROCESSES=auto -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "read"), [("auto", "auto"), ("AUTO", "auto"), (" Auto ", "auto"), ("3", 3),
                                             (" 64 ", 64), (1, 1)])
def test_the_processes_setting_is_a_number_or_auto(given: object, read: object) -> None:
    assert Settings(processes=given).processes == read  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["lots", "0", "65", "", "2.5", "-1", 0, 65, 2.5, True])
def test_any_other_processes_setting_is_refused_saying_what_it_takes(given: object) -> None:
    with pytest.raises(ValidationError, match="Must be a number of processes from 1 to 64, or auto"):
        Settings(processes=given)  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "env", "shown"), [
    (["--processes", "lots"], {}, "LOFT_PROCESSES (--processes) is lots: must be a number of processes from 1 to 64, "
                                  "or auto"),
    ([], {"LOFT_PROCESSES": "0"}, "LOFT_PROCESSES (--processes) is 0: must be a number of processes from 1 to 64, "
                                  "or auto")])
def test_a_wrong_processes_setting_stops_loft_serve_with_one_line(tmp_path: Path, args: list[str],
                                                                  env: dict[str, str], shown: str) -> None:
    server = make_server(tmp_path)
    done = subprocess.run([sys.executable, "-m", "loft", "serve", "--port", str(server.port), *args],
                          env={**server.env(), **env}, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == shown
    assert "Traceback" not in done.stdout + done.stderr


def test_auto_is_one_process_per_core_on_postgresql_and_at_most_four_on_sqlite() -> None:
    for cores, on_sqlite in ((1, 1), (2, 2), (4, 4), (16, processes.SQLITE_MOST_PROCESSES)):
        assert processes.auto_processes("sqlite:////data/loft.db", cores) == on_sqlite
        assert processes.auto_processes("postgresql+asyncpg://loft@db/loft", cores) == cores
    assert processes.auto_processes("sqlite:///:memory:", 16) == 1  # no other process could open it


def test_auto_reads_the_cores_this_process_may_run_on(tmp_path: Path) -> None:
    """With its CPU affinity cut to one core (as ``taskset`` does), ``auto`` is one process."""
    script = ("import os; from loft.config import Settings; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
              f"print(Settings(processes='auto', data_dir={str(tmp_path)!r}).api_processes)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "1"
    assert Settings(processes="auto", data_dir=tmp_path).api_processes == min(processes.available_cores(), 4)
    assert Settings(processes="auto", database_url="sqlite:///:memory:").api_processes == 1


def test_more_processes_than_sqlite_scales_to_are_run_with_a_warning(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    best = processes.auto_processes(Settings(data_dir=tmp_path).resolved_database_url)
    with caplog.at_level(logging.INFO, logger="loft.processes"):
        processes.note_layout(Settings(processes="auto", data_dir=tmp_path))
        processes.note_layout(Settings(processes=best, data_dir=tmp_path))
        assert caplog.records == []
        processes.note_layout(Settings(processes=best + 1, data_dir=tmp_path))
        processes.note_layout(Settings(processes=best + 1, database_url="postgresql://loft@db/loft"))
    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(f"LOFT_PROCESSES={best + 1} on SQLite: running {best + 1} API processes "
                                           f"as asked, but past {best} on this machine")
    assert Settings(processes=best + 1, data_dir=tmp_path).api_processes == best + 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_loft_serve_processes_auto_runs_as_many_api_processes_as_auto_picks(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("own_postgres_database") if backend == "postgres" else None
    server = make_server(tmp_path, url)
    server.serve_args = ("--processes", "auto")
    expected = processes.auto_processes(Settings(data_dir=tmp_path, database_url=url).resolved_database_url)
    with server.running():
        eventually(lambda: len(children.supervised(server, "serve")) == expected - 1, timeout=30)
        assert f"LOFT_PROCESSES=auto: {expected} API process" in server.log()
        assert httpx.get(f"{server.base_url}/readyz").status_code == 200
