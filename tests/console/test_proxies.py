"""Behind a TLS proxy the console's cookies are ``Secure``: ``X-Forwarded-Proto: https`` is believed from the
addresses ``LOFT_TRUSTED_PROXIES`` names, and ignored from any other."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loft.console import sessions
from tests.conftest import make_server
from tests.console.test_sessions import sign_in

HTTPS = {"x-forwarded-proto": "https"}


def _cookie_lines(response: httpx.Response, name: str) -> list[str]:
    return [line for line in response.headers.get_list("set-cookie") if line.startswith(f"{name}=")]


def _secure(line: str) -> bool:
    return "secure" in [part.strip().lower() for part in line.split(";")]


@pytest.mark.parametrize(("trusted", "believed"), [
    pytest.param("127.0.0.1", True, id="trusted-address"),
    pytest.param("10.0.0.0/8, 127.0.0.0/30", True, id="trusted-network"),
    pytest.param("10.0.0.0/8", False, id="other-network"),
    pytest.param("", False, id="none-by-default"),
])
def test_cookies_are_secure_only_when_a_trusted_proxy_says_https(tmp_path: Path, trusted: str,
                                                                 believed: bool) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_TRUSTED_PROXIES": trusted}
    # The client speaks plain HTTP to Loft, as a proxy does; the header says what the browser spoke to the proxy.
    # (An HTTP client never sends a Secure cookie over plain HTTP: the requests that must carry the session are
    # made without the header, and each answer's Set-Cookie is looked at.)
    with server.running(), httpx.Client(base_url=server.base_url) as browser:
        [anonymous] = _cookie_lines(browser.get("/console/signin", headers=HTTPS), sessions.COOKIE)
        assert _secure(anonymous) is believed
        [plain] = _cookie_lines(httpx.get(f"{server.base_url}/console/signin"), sessions.COOKIE)
        assert not _secure(plain)  # no header: HTTP, from a trusted proxy too
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/console/signin").text)
        assert token
        answer = browser.post("/console/signin", headers=HTTPS, data={
            "username": server.account_sid, "password": server.auth_token, "csrf_token": token[1]})
        assert answer.status_code == 303
        [signed_in] = _cookie_lines(answer, sessions.COOKIE)
        assert _secure(signed_in) is believed

    with server.running(), httpx.Client(base_url=server.base_url) as browser:
        sign_in(browser, server.account_sid, server.auth_token)
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/console/keys").text)
        assert token
        created = browser.post("/console/keys", headers=HTTPS, data={"FriendlyName": "ci", "csrf_token": token[1]})
        assert created.status_code == 303
        [flash] = _cookie_lines(created, sessions.FLASH_COOKIE)  # a notice carried across the redirect
        assert _secure(flash) is believed


@pytest.mark.parametrize("value", ["*", "not-an-address", "10.0.0.0/33"])
def test_a_wrong_trusted_proxies_setting_is_refused_by_name(tmp_path: Path, value: str) -> None:
    """Not silently taken as a host name (what uvicorn does with a value that is no address): "*" too, which
    would believe every client."""
    env = {**make_server(tmp_path).env(), "LOFT_TRUSTED_PROXIES": value}
    done = subprocess.run([sys.executable, "-m", "loft", "credentials"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert f"LOFT_TRUSTED_PROXIES: '{value}' is not an IP address or network" in " ".join(done.stderr.split())
