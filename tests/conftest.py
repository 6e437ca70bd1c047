"""Fixtures: a real Loft server per database backend, fresh accounts per test, the official twilio SDK.

PostgreSQL: set ``LOFT_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``); each run makes
its own database there and drops it afterwards. Without it the PostgreSQL half is skipped, except under
CI (``CI=true``), where a missing or unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import hypothesis
import pytest
from twilio.rest import Client

from tests.support import clients
from tests.support import receiver as receivers
from tests.support.server import LoftServer
from tests.support.sim import Sim
from tests.support.smsc import Smsc

POSTGRES_URL = os.environ.get("LOFT_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Under CI (the README's test command), the property tests draw the same examples on every run: a run fails for
# what changed, not for a new draw finding an old bug (the number search's trunk prefix was such a find). Run
# pytest without CI to explore; a failure found that way becomes an explicit @example.
hypothesis.settings.register_profile("ci", derandomize=True)
if IN_CI:
    hypothesis.settings.load_profile("ci")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server to test against; skipped without one, except under CI."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI must test PostgreSQL: set LOFT_TEST_POSTGRES_URL")
        pytest.skip("PostgreSQL tests need LOFT_TEST_POSTGRES_URL (see README)")
    try:
        asyncio.run(_admin(POSTGRES_URL, "SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"cannot reach PostgreSQL at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A database of its own for one server, dropped afterwards."""
    name = f"loft_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(admin_url, name)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The database of the session's shared PostgreSQL server."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def own_postgres_database(postgres_url: str) -> Iterator[str]:
    """A database for a test that runs a server of its own (and may kill it)."""
    with fresh_database(postgres_url) as url:
        yield url


def make_server(tmp: Path, database_url: str | None = None) -> LoftServer:
    return LoftServer(
        data_dir=tmp,
        account_sid="AC" + secrets.token_hex(16),
        auth_token=secrets.token_hex(16),
        database_url=database_url,
    )


def server_of_its_own(request: pytest.FixtureRequest, tmp: Path, **env: str) -> LoftServer:
    """A server (not started) of one test's own, on the backend of a fixture parametrized ``sqlite`` /
    ``postgres`` (a PostgreSQL database of its own), with ``env`` added to its environment."""
    url = request.getfixturevalue("own_postgres_database") if request.param == "postgres" else None
    server = make_server(tmp, url)
    server.extra_env = dict(env)
    return server


@contextmanager
def module_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  name: str) -> Iterator[LoftServer]:
    """A running Loft of one module's own (for a module-scoped ``loft`` fixture parametrized ``sqlite`` /
    ``postgres``, in place of the session's), for tests that move its clock: moving the session's would move it
    under every other test."""
    with ExitStack() as stack:
        url = (stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
               if request.param == "postgres" else None)
        server = make_server(tmp_path_factory.mktemp(f"{name}-{request.param}"), url)
        yield stack.enter_context(server.running())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own(request: pytest.FixtureRequest, tmp_path: Path) -> LoftServer:
    """A Loft of the test's own (not started), on each backend, for what needs settings or a restart."""
    return server_of_its_own(request, tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LoftServer, LoftServer]]:
    """Two API processes sharing one database: two ``loft serve`` on one PostgreSQL database; on SQLite, where one
    ``loft serve`` serves a data dir, the server and one more API process of it (on a port of its own)."""
    first = server_of_its_own(request, tmp_path)
    second = LoftServer(data_dir=tmp_path, account_sid=first.account_sid, auth_token=first.auth_token,
                        database_url=first.database_url, api_child=first.database_url is None)
    with first.running(), second.running():
        yield first, second


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loft(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """One running Loft per backend for the whole session; tests isolate themselves with subaccounts."""
    database_url = request.getfixturevalue("postgres_database") if request.param == "postgres" else None
    server = make_server(tmp_path_factory.mktemp(f"loft-{request.param}"), database_url)
    with server.running():
        yield server


@pytest.fixture
def main_client(loft: LoftServer) -> Client:
    return clients.sdk(loft.base_url, loft.account_sid, loft.auth_token)


@pytest.fixture
def account(main_client: Client) -> tuple[str, str]:
    """A fresh subaccount (sid, auth token): every test starts with an empty account."""
    created = main_client.api.accounts.create(friendly_name="test")
    return created.sid, created.auth_token


@pytest.fixture
def client(loft: LoftServer, account: tuple[str, str]) -> Client:
    return clients.sdk(loft.base_url, *account)


@pytest.fixture
def sender(client: Client) -> str:
    """An SMS-capable number the test's account owns."""
    number: str = client.incoming_phone_numbers.create(area_code="415").phone_number
    return number


@pytest.fixture
def receiver() -> Iterator[receivers.Receiver]:
    """A real HTTP receiver on 127.0.0.1 for webhooks."""
    started = receivers.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def main_sim(loft: LoftServer) -> Iterator[Sim]:
    """The simulator API with the main account's auth token (the credentials that move the clock)."""
    simulator = Sim(loft.base_url, (loft.account_sid, loft.auth_token))
    try:
        yield simulator
    finally:
        simulator.http.close()


@pytest.fixture
def sim(loft: LoftServer, account: tuple[str, str]) -> Iterator[Sim]:
    simulator = Sim(loft.base_url, account)
    try:
        yield simulator
    finally:
        simulator.http.close()


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    """A third-party SMSC (node-smpp, tests/support/smsc) of the test's own, on free loopback ports: it takes
    binds with ``smsc.system_id`` / ``smsc.password`` at ``smsc.host:smsc.port``, and records and answers as told."""
    with Smsc(log_dir=tmp_path / "smsc").running() as peer:
        yield peer
