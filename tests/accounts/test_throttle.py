"""Failed authentications slow down the client address and the SID they come from, never the right credentials
used from elsewhere; and a failure takes as long whether the SID exists or not."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loft.accounts import throttle
from loft.accounts.throttle import Throttle
from tests.conftest import fresh_database, make_server
from tests.support.server import LoftServer

LIMIT = 5


def test_an_address_is_refused_after_the_limit_and_let_in_again_as_its_count_decays() -> None:
    counts = Throttle(LIMIT)
    for _ in range(LIMIT - 1):
        counts.failed("192.0.2.1", "AC" + secrets.token_hex(16))
    assert counts.refused_for("192.0.2.1") == 0
    counts.failed("192.0.2.1", "AC" + secrets.token_hex(16))
    wait = counts.refused_for("192.0.2.1")
    assert 0 < wait <= 10  # just at the limit: the count decays back under it within seconds
    assert counts.refused_for("192.0.2.2") == 0
    for _ in range(1000):
        counts.failed("192.0.2.1", "AC" + "0" * 32)
    assert counts.refused_for("192.0.2.1") > throttle.DECAY * 5  # hammering keeps it out for minutes


def test_a_sids_wrong_attempts_are_delayed_past_the_limit_whatever_their_address() -> None:
    counts = Throttle(LIMIT)
    delays = [counts.failed(f"192.0.2.{n}", "AC" + "1" * 32) for n in range(LIMIT + 2)]
    assert delays == [0.0] * LIMIT + [throttle.SID_DELAY] * 2
    assert counts.failed("192.0.2.99", "AC" + "2" * 32) == 0.0


def test_zero_turns_the_throttle_off() -> None:
    counts = Throttle(0)
    assert all(counts.failed("192.0.2.1", "AC" + "3" * 32) == 0.0 for _ in range(100))
    assert counts.refused_for("192.0.2.1") == 0


def test_the_tracked_addresses_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_TRACKED", 100)
    counts = Throttle(LIMIT)
    for _ in range(LIMIT * 3):
        counts.failed("198.51.100.7", "AC" + "4" * 32)
    for n in range(1000):
        counts.failed(f"2001:db8::{n:x}", "AC" + "4" * 32)
    assert len(counts._addresses) <= 100
    assert counts.refused_for("198.51.100.7") > 0  # the most failing address is the last forgotten


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    tmp: Path = tmp_path_factory.mktemp(f"throttle-{request.param}")
    if request.param == "postgres":
        with fresh_database(request.getfixturevalue("postgres_url")) as url:
            started = _server(tmp, url)
            with started.running():
                yield started
        return
    started = _server(tmp, None)
    with started.running():
        yield started


def _server(tmp: Path, url: str | None) -> LoftServer:
    made = make_server(tmp, url)
    made.extra_env = {"LOFT_AUTH_FAILURES_PER_MINUTE": str(LIMIT)}
    return made


def from_address(server: LoftServer, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 reaches the loopback server)."""
    return httpx.Client(base_url=server.base_url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def balance(http: httpx.Client, sid: str, password: str) -> httpx.Response:
    return http.get(f"/2010-04-01/Accounts/{sid}/Balance.json", auth=(sid, password))


def test_a_failing_address_gets_429_and_the_owner_elsewhere_is_served(server: LoftServer) -> None:
    sid, token = server.account_sid, server.auth_token
    with from_address(server, "127.0.0.2") as attacker, from_address(server, "127.0.0.3") as owner:
        assert [balance(attacker, sid, "wrong").status_code for _ in range(LIMIT)] == [401] * LIMIT
        refused = balance(attacker, sid, token)  # even the right token: the address is out for now
        assert refused.status_code == 429
        assert refused.json()["code"] == 20429 and int(refused.headers["Retry-After"]) >= 1
        assert balance(owner, sid, token).status_code == 200
        signin = attacker.get("/console/signin")
        answer = attacker.post("/console/signin", data={"username": sid, "password": token,
                                                        "csrf_token": _csrf(signin.text)})
        assert answer.status_code == 429 and "Too many failed sign-ins" in answer.text


def test_wrong_attempts_for_one_sid_from_many_addresses_are_slowed_not_the_right_ones(server: LoftServer) -> None:
    sid, token = server.account_sid, server.auth_token
    for n in range(LIMIT):
        with from_address(server, f"127.0.1.{n + 1}") as http:
            assert balance(http, sid, "wrong").status_code == 401
    with from_address(server, "127.0.2.1") as late, from_address(server, "127.0.2.2") as owner:
        began = time.monotonic()
        assert balance(late, sid, "wrong").status_code == 401
        assert time.monotonic() - began >= throttle.SID_DELAY
        began = time.monotonic()
        assert balance(owner, sid, token).status_code == 200
        assert time.monotonic() - began < throttle.SID_DELAY


def test_an_unknown_sid_fails_in_the_same_time_as_a_wrong_token(server: LoftServer) -> None:
    def failing(http: httpx.Client, sid: str) -> float:
        began = time.monotonic()
        assert balance(http, sid, "wrong").status_code == 401
        return time.monotonic() - began

    with from_address(server, "127.0.3.1") as known, from_address(server, "127.0.3.2") as unknown:
        known_times, unknown_times = [], []
        for _ in range(5):  # interleaved, so that a moment of load on the machine weighs on both alike
            created = known.post("/2010-04-01/Accounts.json", auth=(server.account_sid, server.auth_token))
            sid = created.json()["sid"]  # a SID of its own each time, with no failures counted yet
            known_times.append(failing(known, sid))
            unknown_times.append(failing(unknown, "AC" + secrets.token_hex(16)))
    assert min(known_times + unknown_times) >= throttle.FLOOR
    # The fastest of each (what the server itself takes, without the machine's noise) agree.
    assert abs(min(known_times) - min(unknown_times)) < 0.02


def _csrf(html: str) -> str:
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]

