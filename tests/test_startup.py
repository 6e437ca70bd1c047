"""Startup mistakes: each one is a line or two on standard error naming the setting and the fix, exit status 1,
no traceback, and nothing created (loft/startup.py); pinned credentials must match the main account, and
``loft rotate-token`` changes its token on purpose; one ``loft serve`` per SQLite data dir."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from cryptography.fernet import Fernet

from loft.accounts import credentials
from tests.conftest import _with_database, make_server, server_of_its_own
from tests.support import children, clients
from tests.support.server import LoftServer, free_port
from tests.support.waiting import eventually
from tests.test_processes import _listening


def loft(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``loft …`` as a person runs it, with no ``LOFT_*`` setting but ``env``'s."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("LOFT_", "TWILIO_"))}
    return subprocess.run([sys.executable, "-m", "loft", *args], env={**clean, **(env or {})}, cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """The refusal's text, once it is checked to be short, clean, on standard error, with ``words`` in it."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert 1 <= len(lines) <= 2, done.stderr
    assert done.stdout == ""  # no account announced, no banner
    for word in words:
        assert word in done.stderr, (word, done.stderr)
    return done.stderr


def accounts_in(data_dir: Path) -> list[tuple[str, int]]:
    """(sid, is_main) of every account in the data dir's SQLite database, read without Loft."""
    with sqlite3.connect(f"file:{data_dir / 'loft.db'}?mode=ro", uri=True) as db:
        return sorted(db.execute("SELECT sid, is_main FROM accounts").fetchall())


# Settings ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, value, words", [
    pytest.param("LOFT_PROCESSES", "0", ["LOFT_PROCESSES", "--processes", "is 0: must be a number of processes from 1 to 64, or auto"],
                 id="processes-0"),
    pytest.param("LOFT_PORT", "http", ["LOFT_PORT", "--port", "integer"], id="port-not-a-number"),
    pytest.param("LOFT_PORT", "70000", ["LOFT_PORT", "65535"], id="port-too-high"),
    pytest.param("LOFT_OUTBOUND_DENY", "garbage", ["LOFT_OUTBOUND_DENY", "'garbage'", "CIDR"], id="outbound-deny"),
    pytest.param("LOFT_LOG_LEVEL", "loud", ["LOFT_LOG_LEVEL", "debug"], id="log-level"),
    pytest.param("LOFT_SENDER_MPS", "fast", ["LOFT_SENDER_MPS", "twilio"], id="sender-mps"),
    pytest.param("LOFT_SMS_PRICES", "{not json", ["LOFT_SMS_PRICES", "JSON"], id="prices-not-json"),
    pytest.param("LOFT_ACCOUNT_SID", "AC123", ["LOFT_ACCOUNT_SID", "32 hex digits"], id="account-sid"),
    pytest.param("LOFT_SECRET_KEY", "hunter2-not-a-key", ["LOFT_SECRET_KEY", "Fernet", "generate_key"],
                 id="secret-key"),
    pytest.param("LOFT_DATABASE_URL", "mysql://loft:hunter2@db/loft", ["LOFT_DATABASE_URL", "mysql://",
                                                                         "postgresql://"], id="unsupported-scheme"),
    pytest.param("LOFT_DATABASE_URL", "loft.db", ["LOFT_DATABASE_URL", "sqlite:///"], id="not-a-url"),
    pytest.param("LOFT_DATABASE_URL", "postgresql://loft:hunter2@db:port/loft", ["LOFT_DATABASE_URL", "port"],
                 id="port-in-url"),
])
def test_an_invalid_setting_is_named_in_one_line(tmp_path: Path, setting: str, value: str, words: list[str]
                                                 ) -> None:
    data_dir = tmp_path / "data"
    port = [] if setting == "LOFT_PORT" else ["--port", str(free_port())]  # the option would win over the variable
    text = refused(loft("serve", *port, "--data-dir", str(data_dir), env={setting: value}), *words)
    assert "hunter2" not in text  # a secret setting's value is never repeated
    assert not data_dir.exists()


@pytest.mark.parametrize("command", ["worker", "credentials", "rotate-token"])
def test_every_command_that_opens_the_store_says_the_same_line(tmp_path: Path, command: str) -> None:
    data_dir = tmp_path / "data"
    refused(loft(command, "--data-dir", str(data_dir), env={"LOFT_OUTBOUND_DENY": "garbage"}),
            "LOFT_OUTBOUND_DENY: 'garbage'")
    refused(loft(command, "--data-dir", str(tmp_path / "data"),
                 env={"LOFT_DATABASE_URL": f"postgresql://loft@127.0.0.1:{free_port()}/loft"}),
            "LOFT_DATABASE_URL", "nothing listens at 127.0.0.1")
    assert not data_dir.exists()


# The port ------------------------------------------------------------------------------------------------

def test_a_busy_port_is_refused_first_with_a_hint_about_port(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused(loft("serve", "--port", str(port), "--data-dir", str(data_dir)),
                f"Port {port} on 127.0.0.1 is in use", "--port")
    assert not data_dir.exists()  # no data dir, no database, no account made for a server that cannot listen


def test_a_host_that_is_not_this_machines_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    refused(loft("serve", "--host", "192.0.2.1", "--data-dir", str(data_dir)), "LOFT_HOST", "--host", "192.0.2.1")
    assert not data_dir.exists()


# The data dir --------------------------------------------------------------------------------------------

def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    refused(loft("serve", "--port", str(free_port()), "--data-dir", str(file)),
            "LOFT_DATA_DIR (--data-dir)", f"{file} is a file, not a directory")
    refused(loft("serve", "--port", str(free_port()), "--data-dir", str(file / "loft")),
            "LOFT_DATA_DIR (--data-dir)", f"cannot make {file / 'loft'}", "is a file")
    assert file.read_text() == "mine" and sorted(tmp_path.iterdir()) == [file]


def _unwritable(tmp_path: Path) -> Path:
    """A directory this process cannot make anything in: a read-only one, or (as root, whom modes do not stop)
    sysfs, which refuses new directories."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        return locked
    return Path("/sys")


@pytest.mark.parametrize("inside", [True, False], ids=["existing", "to-make"])
def test_a_data_dir_that_cannot_be_written_is_refused(tmp_path: Path, inside: bool) -> None:
    parent = _unwritable(tmp_path)
    data_dir = parent if inside else parent / "loft-data"
    refused(loft("serve", "--port", str(free_port()), "--data-dir", str(data_dir)),
            "LOFT_DATA_DIR (--data-dir)", str(data_dir), "give a directory you can write in")
    assert not (parent / "loft-data").exists() and not (parent / "loft.db").exists()


def test_a_sqlite_url_in_a_missing_place_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    refused(loft("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"),
                 env={"LOFT_DATABASE_URL": f"sqlite:///{file}/loft.db"}),
            "LOFT_DATABASE_URL", "is a file, not a directory")
    assert not (tmp_path / "data").exists()


# PostgreSQL ------------------------------------------------------------------------------------------------

def test_a_closed_postgresql_port_is_one_line_naming_the_url(tmp_path: Path) -> None:
    port = free_port()
    text = refused(loft("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"),
                        env={"LOFT_DATABASE_URL": f"postgresql://loft:hunter2@127.0.0.1:{port}/loft"}),
                   "LOFT_DATABASE_URL", f"nothing listens at 127.0.0.1:{port}", "start PostgreSQL")
    assert "hunter2" not in text
    assert not (tmp_path / "data").exists()


@pytest.mark.postgres
def test_a_missing_postgresql_database_says_how_to_make_it(postgres_url: str, tmp_path: Path) -> None:
    url = _with_database(postgres_url, "loft_never_made")
    refused(loft("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"),
                 env={"LOFT_DATABASE_URL": url}),
            "LOFT_DATABASE_URL", 'has no database "loft_never_made"', "createdb")
    assert not (tmp_path / "data").exists()  # not even the secret key


@pytest.mark.postgres
def test_a_user_postgresql_refuses_is_named(postgres_url: str, tmp_path: Path) -> None:
    parts = urlsplit(postgres_url)
    url = urlunsplit(parts._replace(netloc=f"loft_nobody:hunter2@{parts.hostname}:{parts.port or 5432}"))
    text = refused(loft("credentials", "--data-dir", str(tmp_path / "data"), env={"LOFT_DATABASE_URL": url}),
                   "LOFT_DATABASE_URL", 'does not let user "loft_nobody" in', "check the user and password")
    assert "hunter2" not in text
    assert not (tmp_path / "data").exists()


@pytest.mark.postgres
def test_pools_past_what_postgresql_allows_are_warned_of_and_the_pool_size_is_used(
        postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``loft serve`` on PostgreSQL compares its processes' pools with ``max_connections``: a layout that could
    open more connections than the server allows is warned of with the size that would fit."""
    import asyncio
    import logging

    from loft import startup
    from loft.config import Settings
    from loft.db.engine import open_database

    def settings(**values: object) -> Settings:
        return Settings(data_dir=tmp_path, database_url=postgres_url, **values)  # type: ignore[arg-type]

    allowed = asyncio.run(startup.check_database(settings()))
    assert allowed is not None and 0 < allowed <= 10_000
    with caplog.at_level(logging.WARNING, logger="loft.startup"):
        startup.check_pools(settings(), allowed)  # one process of 20 connections
        assert not caplog.records
        startup.check_pools(settings(processes=2, worker_processes=1, database_pool_size=allowed), allowed)
    [warning] = caplog.records
    assert f"3 processes × LOFT_DATABASE_POOL_SIZE={allowed}" in warning.getMessage()
    assert f"lower LOFT_DATABASE_POOL_SIZE to {allowed // 3}" in warning.getMessage()

    async def pool_size() -> int:
        database = open_database(settings().resolved_database_url, pool_size=3)
        try:
            return int(database._async.pool.size())  # type: ignore[attr-defined]
        finally:
            await database.dispose()

    assert asyncio.run(pool_size()) == 3


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "loft.db").write_bytes(b"not SQLite, " * 512)
    refused(loft("serve", "--port", str(free_port()), "--data-dir", str(data_dir)),
            "The database cannot be used: file is not a database", "LOFT_DATA_DIR")
    assert not (data_dir / "secret.key").exists()


# The secret key ------------------------------------------------------------------------------------------

@pytest.fixture
def made(tmp_path: Path) -> LoftServer:
    """A data dir that a server made and served (it is stopped now)."""
    server = make_server(tmp_path / "data")
    server.start()
    server.stop()
    return server


def pinned(server: LoftServer, **env: str) -> dict[str, str]:
    """The server's data dir, with ``env``'s pins (and none of the server's)."""
    return {"LOFT_DATA_DIR": str(server.data_dir), **env}


def test_a_data_dir_without_its_secret_key_is_refused_and_no_key_is_made(made: LoftServer) -> None:
    key = made.data_dir / "secret.key"
    key.rename(made.data_dir / "elsewhere.key")
    refused(loft("serve", "--port", str(free_port()), env=pinned(made)),
            "LOFT_SECRET_KEY is not set", str(key), "set LOFT_SECRET_KEY to that key")
    assert not key.exists()


def test_a_wrong_secret_key_is_refused(made: LoftServer) -> None:
    other = Fernet.generate_key().decode()
    text = refused(loft("serve", "--port", str(free_port()), env=pinned(made, LOFT_SECRET_KEY=other)),
                   "LOFT_SECRET_KEY is not the key that sealed this database's secrets")
    assert other not in text
    (made.data_dir / "secret.key").write_text("not a key")
    refused(loft("credentials", env=pinned(made)), "secret.key is not a Fernet key")


# Pinned credentials --------------------------------------------------------------------------------------

def test_a_pinned_token_that_differs_is_refused_and_the_stored_one_kept(made: LoftServer) -> None:
    before = accounts_in(made.data_dir)
    wrong = "f" * 32
    text = refused(loft("serve", "--port", str(free_port()),
                        env=pinned(made, LOFT_ACCOUNT_SID=made.account_sid, LOFT_AUTH_TOKEN=wrong)),
                   "LOFT_AUTH_TOKEN is not the main account's auth token", "loft rotate-token", "TWILIO_AUTH_TOKEN")
    assert wrong not in text and made.auth_token not in text
    assert accounts_in(made.data_dir) == before
    with made.running():  # the stored token still opens the account
        main = clients.sdk(made.base_url, made.account_sid, made.auth_token)
        assert main.api.accounts(made.account_sid).fetch().status == "active"


def test_an_unknown_pinned_sid_makes_no_second_main_account(made: LoftServer) -> None:
    before = accounts_in(made.data_dir)
    stranger = "AC" + "0" * 32
    refused(loft("serve", "--port", str(free_port()), env=pinned(made, LOFT_ACCOUNT_SID=stranger)),
            f"LOFT_ACCOUNT_SID is {stranger}", f"main account is {made.account_sid}")
    assert accounts_in(made.data_dir) == before
    assert [sid for sid, main in before if main] == [made.account_sid]


def test_a_subaccounts_sid_is_not_taken_for_the_main_account(made: LoftServer) -> None:
    with made.running():
        sub = clients.sdk(made.base_url, made.account_sid, made.auth_token).api.accounts.create(
            friendly_name="sub").sid
    before = accounts_in(made.data_dir)
    refused(loft("serve", "--port", str(free_port()), env=pinned(made, LOFT_ACCOUNT_SID=sub)),
            f"LOFT_ACCOUNT_SID is {sub}, a subaccount", f"the main account is {made.account_sid}")
    refused(loft("worker", env=pinned(made, LOFT_ACCOUNT_SID=sub)), f"LOFT_ACCOUNT_SID is {sub}, a subaccount")
    assert accounts_in(made.data_dir) == before


# rotate-token ----------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path)
    with server.running():
        yield server


def _opens(server: LoftServer, token: str) -> bool:
    answer = httpx.get(f"{server.base_url}/2010-04-01/Accounts/{server.account_sid}.json",
                       auth=(server.account_sid, token), timeout=30)
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def test_rotate_token_replaces_the_token_of_a_running_server(serving: LoftServer) -> None:
    assert _opens(serving, serving.auth_token)
    env = {"LOFT_DATA_DIR": str(serving.data_dir), **({"LOFT_DATABASE_URL": serving.database_url}
                                                        if serving.database_url else {})}
    done = loft("rotate-token", env=env)
    assert done.returncode == 0, done.stderr
    new = done.stdout.splitlines()[1]
    assert len(new) == 32 and new != serving.auth_token and serving.account_sid in done.stdout
    eventually(lambda: not _opens(serving, serving.auth_token), timeout=credentials.TTL + 5)
    assert _opens(serving, new)

    chosen = "0123456789abcdef" * 2
    done = loft("rotate-token", "--token", chosen, env={**env, "LOFT_AUTH_TOKEN": serving.auth_token})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == chosen
    eventually(lambda: _opens(serving, chosen) and not _opens(serving, new), timeout=credentials.TTL + 5)


def test_after_a_rotation_the_old_pinned_token_is_refused_and_the_new_one_starts(made: LoftServer) -> None:
    chosen = "a" * 32
    done = loft("rotate-token", "--token", chosen, env=pinned(made))
    assert done.returncode == 0, done.stderr
    refused(loft("serve", "--port", str(free_port()), env=pinned(made, LOFT_AUTH_TOKEN=made.auth_token)),
            "LOFT_AUTH_TOKEN is not the main account's auth token")
    made.auth_token = chosen
    with made.running():
        assert _opens(made, chosen)


def test_rotate_token_refuses_a_token_with_spaces(made: LoftServer) -> None:
    refused(loft("rotate-token", "--token", "two words", env=pinned(made)), "--token")


# One loft serve per data dir -------------------------------------------------------------------------------

def test_a_second_server_on_a_served_data_dir_is_refused_naming_the_first(tmp_path: Path) -> None:
    first = make_server(tmp_path / "data")
    with first.running():
        assert first.process is not None
        refused(loft("serve", "--port", str(free_port()), env=pinned(first)),
                f"Another loft serve (pid {first.process.pid}) is serving {first.data_dir / 'loft.db'}",
                "--data-dir")
        # What shares a served data dir by design still does: loft credentials (and loft worker, tests/delivery).
        assert first.account_sid in loft("credentials", env=pinned(first)).stdout
    first.start()
    first.kill()  # the lock goes with the server, however it ends
    with first.running():
        assert _opens(first, first.auth_token)


def test_a_servers_api_child_started_again_after_a_rotation_is_not_refused(tmp_path: Path) -> None:
    """The server checked its pins at its start; a child it starts again later inherits the pins of that start
    (now stale) and must not be stopped by them."""
    server = make_server(tmp_path / "data")
    server.extra_env = {"LOFT_PROCESSES": "2"}
    with server.running():
        doomed = children.only(server, "serve")
        done = loft("rotate-token", env=pinned(server))
        assert done.returncode == 0, done.stderr
        os.kill(doomed, signal.SIGKILL)
        replacement = eventually(lambda: [pid for pid in children.supervised(server, "serve") if pid != doomed],
                                 timeout=30)
        eventually(lambda: _listening(server, replacement[0]), timeout=30)
        assert "exited with code 1" not in server.log()
