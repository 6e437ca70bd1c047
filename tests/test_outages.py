"""Database outages under load: every request is answered (201, 200 or Twilio's 503 with 20503, never a 500 nor
a dropped connection), keep-alive connections stay usable, every 201 was committed, nothing is half-written, the
log holds a few lines, and once the database is back requests succeed again.

PostgreSQL is cut with a TCP proxy between Loft and it (tests/support/tcp_proxy.py): refused and reset, or
black-holed (accepted and never answered). SQLite is cut by a limit on the size of the files ``loft serve`` may
write (what a full disk looks like to it), or by another program holding its write lock.
"""

from __future__ import annotations

import resource
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import make_server
from tests.support.load import Answer, Load
from tests.support.server import LoftServer
from tests.support.tcp_proxy import TcpProxy, proxy_to
from tests.support.waiting import eventually

CLIENTS = 8


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit((parts.scheme, f"{user}127.0.0.1:{proxy.port}", parts.path, parts.query, parts.fragment))


@contextmanager
def _postgres_behind_proxy(tmp_path: Path, database_url: str, **env: str) -> Iterator[tuple[LoftServer, TcpProxy]]:
    target = urlsplit(database_url)
    with proxy_to(target.hostname or "127.0.0.1", target.port or 5432) as database:
        server = make_server(tmp_path, _through(database_url, database))
        server.extra_env = {"LOFT_JOB_LEASE_SECONDS": "5", **env}
        with server.running():
            yield server, database


@contextmanager
def _load(server: LoftServer) -> Iterator[tuple[Load, TcpProxy]]:
    """Clients in front of ``server`` through a proxy that counts the connections they open."""
    with proxy_to("127.0.0.1", server.port) as front:
        load = Load(f"http://127.0.0.1:{front.port}", server.account_sid, server.auth_token, clients=CLIENTS)
        with load.running():
            yield load, front


def _is_twilio_503(answer: Answer) -> bool:
    if answer.fmt == "xml":
        return "<Code>20503</Code>" in answer.text and "<Status>503</Status>" in answer.text
    body = httpx.Response(503, content=answer.text).json()
    return (body["code"], body["status"], body["more_info"]) == (
        20503, 503, "https://www.twilio.com/docs/errors/20503") and bool(body["message"])


def _messages(server: LoftServer) -> dict[str, str]:
    """Every message of the account: Body -> status."""
    found: dict[str, str] = {}
    with httpx.Client(auth=(server.account_sid, server.auth_token), timeout=30) as http:
        uri: str | None = f"/2010-04-01/Accounts/{server.account_sid}/Messages.json?PageSize=1000"
        while uri:
            page = http.get(server.base_url + uri).json()
            found.update({message["body"]: message["status"] for message in page["messages"]})
            uri = page["next_page_uri"]
    return found


def _check_answers(load: Load, front: TcpProxy, server: LoftServer, restored_at: float) -> None:
    """What every outage test asks of the answers and of what was stored."""
    answers = load.answers
    unanswered = [answer for answer in answers if answer.status is None]
    assert not unanswered, unanswered[:3]
    assert {answer.status for answer in answers} <= {200, 201, 503}, [a.text for a in answers if a.status == 500][:1]
    refused = [answer for answer in answers if answer.status == 503]
    assert refused, "the outage was not felt"
    assert all(_is_twilio_503(answer) for answer in refused), refused[0].text
    assert front.accepted == CLIENTS  # no client had to open a second connection: keep-alive survived
    for client in range(CLIENTS):  # and once the database is back, requests succeed again
        after = [answer for answer in answers if answer.client == client and answer.started > restored_at]
        assert after and after[-1].status in (200, 201)
    stored = _messages(server)
    created = {answer.body_sent for answer in answers if answer.status == 201}
    assert created <= stored.keys()  # every 201 was committed
    in_flight = {answer.body_sent for answer in refused if answer.method == "POST"}
    assert stored.keys() - created <= in_flight  # a 503 may only be a create whose COMMIT went through as it was cut
    assert len(stored.keys() - created) <= CLIENTS
    # Nothing half-written: each message was stored with its delivery, which goes on once the database is back.
    eventually(lambda: all(status not in ("queued", "sending") for status in _messages(server).values()), 60)


def _outage_log(log: str) -> list[str]:
    lines = [line for line in log.splitlines() if line.strip()]
    assert "Traceback" not in log
    assert not any("500" in line or "Exception" in line for line in lines)
    return [line for line in lines if line.startswith("database ")]


def _assert_one_outage(lines: list[str], log: str) -> None:
    assert lines and lines[0].startswith("database unavailable: "), log
    assert lines[-1].startswith("database available again after "), log
    assert len(lines) <= 4, log  # one outage, perhaps a reminder or an echo of the in-flight requests: a handful


@pytest.mark.postgres
def test_postgresql_refused_and_reset_under_load(tmp_path: Path, own_postgres_database: str) -> None:
    with _postgres_behind_proxy(tmp_path, own_postgres_database) as (server, database):
        started_log = server.log()
        with _load(server) as (load, front):
            load.wait_until(lambda: load.count(lambda a: a.status == 201) >= 20)
            database.refuse()  # a PostgreSQL restart: live connections reset, new ones refused
            load.wait_until(lambda: load.count(lambda a: a.status == 503) >= 50)
            time.sleep(1)
            database.restore()
            restored_at = time.monotonic()
            load.wait_until(lambda: load.each_client_got((200, 201), since=restored_at))
        _check_answers(load, front, server, restored_at)
        log = server.log()[len(started_log):]
    _assert_one_outage(_outage_log(log), log)


@pytest.mark.postgres
def test_a_postgresql_that_never_answers_is_answered_503_within_the_timeouts(tmp_path: Path,
                                                                             own_postgres_database: str) -> None:
    statement, connect = 2.0, 1.0
    env = {"LOFT_DATABASE_STATEMENT_TIMEOUT": str(statement), "LOFT_DATABASE_CONNECT_TIMEOUT": str(connect)}
    with _postgres_behind_proxy(tmp_path, own_postgres_database, **env) as (server, database):
        started_log = server.log()
        with _load(server) as (load, front):
            load.wait_until(lambda: load.count(lambda a: a.status == 201) >= 20)
            database.blackhole()  # a frozen host, a dead network path: connections accepted, never answered
            cut_at = time.monotonic()
            load.wait_until(lambda: load.count(lambda a: a.status == 503 and a.started > cut_at + statement) >= 8)
            database.restore()
            restored_at = time.monotonic()
            load.wait_until(lambda: load.each_client_got((200, 201), since=restored_at))
        slow = [(answer.method, answer.status, round(answer.started - cut_at, 2), round(answer.seconds, 2))
                for answer in load.answers if answer.seconds >= statement + connect + 2.0]
        assert not slow, f"answers past the timeouts (not asyncpg's 60 s, nor a wait per batch): {slow}"
        _check_answers(load, front, server, restored_at)
        log = server.log()[len(started_log):]
    _assert_one_outage(_outage_log(log), log)


@pytest.mark.postgres
def test_readyz_says_whether_postgresql_answers_and_healthz_that_loft_does(tmp_path: Path,
                                                                          own_postgres_database: str) -> None:
    with _postgres_behind_proxy(tmp_path, own_postgres_database) as (server, database), httpx.Client(
            base_url=server.base_url, timeout=30) as http:
        ready = http.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})
        database.refuse()
        refused = http.get("/readyz")
        alive = http.get("/healthz")
        database.blackhole()
        started = time.monotonic()
        silent = http.get("/readyz")
        waited = time.monotonic() - started
        database.restore()
        back = _ready_again(http)
    assert (refused.status_code, refused.json()) == (503, {"status": "unavailable", "database": "unavailable"})
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert (silent.status_code, silent.json()) == (503, {"status": "unavailable", "database": "unavailable"})
    assert waited < 2.0 + 1.0  # /readyz waits 2 s for the database, not the statement timeout
    assert back.json() == {"status": "ok", "database": "ok"}


def _ready_again(http: httpx.Client) -> httpx.Response:
    def ready() -> httpx.Response | None:
        answer = http.get("/readyz")
        return answer if answer.status_code == 200 else None

    found: httpx.Response = eventually(ready, 30)
    return found


@contextmanager
def _full_disk(server: LoftServer) -> Iterator[None]:
    """The server may write no byte past 64 KiB of any file: its log of writes (WAL) is full."""
    assert server.process is not None
    resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
    try:
        yield
    finally:
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def test_a_full_disk_under_sqlite_refuses_writes_and_answers_reads(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_JOB_LEASE_SECONDS": "5"}
    with server.running():
        started_log = server.log()
        with _load(server) as (load, front):
            load.wait_until(lambda: load.count(lambda a: a.status == 201) >= 20)
            with _full_disk(server):
                cut_at = time.monotonic()
                load.wait_until(lambda: load.count(lambda a: a.status == 503) >= 50)
                load.wait_until(lambda: load.count(lambda a: a.status == 200 and a.started > cut_at + 0.5) >= 5)
                assert server.process is not None and server.process.poll() is None
            restored_at = time.monotonic()
            load.wait_until(lambda: load.each_client_got((201,), since=restored_at))
        _check_answers(load, front, server, restored_at)
        log = server.log()[len(started_log):]
    lines = _outage_log(log)
    _assert_one_outage(lines, log)
    assert lines[0] == "database unavailable: disk I/O error"


def test_readyz_says_when_another_program_holds_the_sqlite_write_lock(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    with server.running(), httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.get("/readyz").json() == {"status": "ok", "database": "ok"}
        other = sqlite3.connect(tmp_path / "loft.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # a backup tool, a migration by hand: it takes no turn
            started = time.monotonic()
            locked = http.get("/readyz")
            waited = time.monotonic() - started
            alive = http.get("/healthz")
            other.execute("ROLLBACK")
        finally:
            other.close()
        back = _ready_again(http)
    assert (locked.status_code, locked.json()) == (503, {"status": "unavailable", "database": "unavailable"})
    assert 1.5 < waited < 2.0 + 1.0
    assert alive.status_code == 200
    assert back.json() == {"status": "ok", "database": "ok"}
