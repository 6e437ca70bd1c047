"""When PostgreSQL cannot be reached, the API answers 503 with Twilio's error body (20503), not a 500 with a
traceback in the log, and nothing is half-written."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import _admin, make_server
from tests.support.server import LoftServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def server(tmp_path: Path, own_postgres_database: str) -> Iterator[LoftServer]:
    server = make_server(tmp_path, own_postgres_database)
    with server.running():
        yield server


def test_a_vanished_database_is_answered_503_20503(server: LoftServer, own_postgres_database: str,
                                                    postgres_url: str) -> None:
    base = f"{server.base_url}/2010-04-01/Accounts/{server.account_sid}"
    auth = (server.account_sid, server.auth_token)
    form = {"To": "+15558670001", "From": "+15005550006", "Body": "before"}
    with httpx.Client(auth=auth, timeout=30) as http:
        assert http.post(f"{base}/Messages.json", data=form).status_code == 201
        name = urlsplit(own_postgres_database).path.lstrip("/")
        asyncio.run(_admin(postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
        answers = [http.post(f"{base}/Messages.json", data={**form, "Body": "after"}) for _ in range(3)]
        as_xml = http.get(f"{base}/Messages")
    for answer in answers:
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["code"] == 20503 and body["status"] == 503
        assert body["more_info"].endswith("20503")
    assert as_xml.status_code == 503 and "<Code>20503</Code>" in as_xml.text
    log = server.log()
    assert log.count("database unavailable: ") == 1  # one line for the outage (and why), none per request
    assert "Traceback" not in log


def test_connections_cut_by_postgresql_are_replaced(server: LoftServer, own_postgres_database: str,
                                                   postgres_url: str) -> None:
    """PostgreSQL restarted (here: every Loft connection terminated): requests that meet a dead connection are
    answered 503, never 500, and the pool reconnects, so the next ones succeed."""
    base = f"{server.base_url}/2010-04-01/Accounts/{server.account_sid}"
    form = {"To": "+15558670002", "From": "+15005550006", "Body": "hello"}
    name = urlsplit(own_postgres_database).path.lstrip("/")
    with httpx.Client(auth=(server.account_sid, server.auth_token), timeout=30) as http:
        assert all(http.post(f"{base}/Messages.json", data=form).status_code == 201 for _ in range(20))
        asyncio.run(_admin(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                         f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        statuses = [http.post(f"{base}/Messages.json", data=form).status_code for _ in range(20)]
        listed = http.get(f"{base}/Messages.json", params={"PageSize": 100}).json()["messages"]
    assert set(statuses) <= {201, 503}
    assert statuses[-5:] == [201] * 5  # reconnected
    assert len(listed) == 20 + statuses.count(201)  # every 201 committed, every 503 wrote nothing
