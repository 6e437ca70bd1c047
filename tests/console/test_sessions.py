"""Signing out ends a console session for good, in every process: the cookie, replayed by a client that kept a
copy, opens nothing. (A browser-less HTTP client: a browser drops the cookie on sign-out, an attacker does not.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from loft.console import sessions
from tests.conftest import make_server
from tests.support.server import LoftServer

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, page.text
    return found[1]


def sign_in(http: httpx.Client, username: str, password: str) -> str:
    """Sign in through the form; the session cookie's value."""
    token = _csrf(http.get("/console/signin", follow_redirects=True))  # signed in already: the dashboard
    answer = http.post("/console/signin", data={"username": username, "password": password, "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/console", answer.text
    return str(http.cookies[sessions.COOKIE])


def signed_in(base_url: str, cookie: str) -> bool:
    """Whether the cookie opens the dashboard, for a client that has nothing else."""
    with httpx.Client(base_url=base_url, cookies={sessions.COOKIE: cookie}) as fresh:
        answer = fresh.get("/console")
    if answer.status_code == 200:
        return True
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"
    return False


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[LoftServer, LoftServer]]:
    """Two API processes on one data dir (one SQLite file, one secret key): a ``loft serve`` and one more API
    process of it, on a port of its own."""
    first = make_server(tmp_path)
    second = LoftServer(data_dir=tmp_path, account_sid=first.account_sid, auth_token=first.auth_token,
                        api_child=True)
    with ExitStack() as stack:
        stack.enter_context(first.running())
        stack.enter_context(second.running())
        yield first, second


def test_a_cookie_replayed_after_sign_out_opens_nothing_in_any_process(
    two_servers: tuple[LoftServer, LoftServer]
) -> None:
    first, second = two_servers
    with httpx.Client(base_url=first.base_url) as browser:
        cookie = sign_in(browser, first.account_sid, first.auth_token)
        dashboard = browser.get("/console")
        assert dashboard.status_code == 200
        assert signed_in(second.base_url, cookie)  # the session is the installation's, not one process's

        out = browser.post("/console/signout", data={"csrf_token": _csrf(dashboard)})
        assert out.status_code == 303 and out.headers["location"] == "/console/signin"
    assert not signed_in(first.base_url, cookie)
    assert not signed_in(second.base_url, cookie)


def test_signing_in_again_ends_the_session_it_replaces(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    with server.running(), httpx.Client(base_url=server.base_url) as browser:
        old = sign_in(browser, server.account_sid, server.auth_token)
        new = sign_in(browser, server.account_sid, server.auth_token)
        assert old != new
        assert signed_in(server.base_url, new) and not signed_in(server.base_url, old)


def test_a_session_outlives_an_advance_of_the_simulators_clock_past_its_lifetime(tmp_path: Path) -> None:
    """Sessions last by the wall clock, as their cookies' ``max_age`` does: moving the simulator's clock (past
    :data:`sessions.LIFETIME`) ends none."""
    server = make_server(tmp_path)
    with server.running(), httpx.Client(base_url=server.base_url) as browser:
        cookie = sign_in(browser, server.account_sid, server.auth_token)
        moved = httpx.post(f"{server.base_url}/sim/v1/Clock", data={"AdvanceSeconds": str(sessions.LIFETIME + 3600)},
                           auth=(server.account_sid, server.auth_token))
        assert moved.status_code == 200, moved.text
        assert signed_in(server.base_url, cookie)
