"""Limits before work, over real sockets against a real ``loft serve``: the body's size (from ``Content-Length``, and
while a chunked body streams), the head's size and number of headers, the time a client has to send a request,
and the number of open connections (loft/kit/limits.py, loft/serving.py)."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.conftest import make_server
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.waiting import eventually

TIMEOUT = 2.0  # LOFT_REQUEST_TIMEOUT_SECONDS of this module's server
MiB = 1 << 20


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    server = make_server(tmp_path_factory.mktemp("loft-edge"))
    server.extra_env = {"LOFT_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT)}
    with server.running():
        yield server


def peak_rss(server: LoftServer) -> int:
    """The most resident memory the server process has held so far, in bytes (a body read whole and freed
    since shows here, where the current figure would have forgotten it)."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def answer_of(conn: socket.socket, wait: float = 10) -> bytes:
    """Everything the server sends until it closes the connection (or ``wait`` seconds pass)."""
    conn.settimeout(wait)
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def twilio_error(raw: bytes, status: int) -> dict[str, object]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), raw[:300]
    assert b"connection: close" in head.lower()
    error: dict[str, object] = json.loads(body)
    assert error["status"] == status and {"code", "message", "more_info"} <= set(error)
    return error


# The body --------------------------------------------------------------------------------------------------------


def test_a_50_mb_content_length_is_answered_413_before_the_body_is_sent(edge: LoftServer) -> None:
    """The answer comes while the client has sent 64 KiB of the 50 MB it announced."""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as conn:
        conn.sendall(f"POST /console/signin HTTP/1.1\r\nHost: loft\r\nContent-Length: {50 * MiB}\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode() + b"a" * 65536)
        error = twilio_error(answer_of(conn), 413)
    assert error["code"] == 20001
    assert error["message"] == f"The request body is larger than the {MiB} bytes Loft accepts"


def test_ten_50_mb_posts_leave_the_server_s_memory_as_it_was(edge: LoftServer) -> None:
    """Issue 17: ten 50 MB posts to /console/signin used to add 550 MB to the server."""
    before = peak_rss(edge)
    body = b"username=" + b"a" * (50 * MiB)
    with httpx.Client(base_url=edge.base_url, timeout=60) as http:
        statuses = [http.post("/console/signin", content=body).status_code for _ in range(10)]
    assert statuses == [413] * 10
    assert peak_rss(edge) - before < 25 * MiB


@pytest.mark.parametrize(("path", "xml"), [
    pytest.param("/2010-04-01/Accounts/{sid}/Messages.json", False, id="create-message"),
    pytest.param("/2010-04-01/Accounts/{sid}/Messages", True, id="create-message-xml"),
    pytest.param("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", False, id="buy-number"),
    pytest.param("/2010-04-01/Accounts/{sid}/Applications.json", False, id="create-application"),
    pytest.param("/2010-04-01/Accounts.json", False, id="create-subaccount"),
    pytest.param("/console/signin", False, id="console-signin"),
    pytest.param("/console/reveal", False, id="console-action"),
    pytest.param("/sim/v1/Handsets/%2B15558675310/Messages", False, id="simulator"),
    pytest.param("/nowhere", False, id="no-such-route"),
])
def test_every_route_refuses_a_body_over_the_limit(edge: LoftServer, path: str, xml: bool) -> None:
    with httpx.Client(base_url=edge.base_url, timeout=30, auth=(edge.account_sid, edge.auth_token)) as http:
        answer = http.post(path.format(sid=edge.account_sid), content=b"Body=" + b"x" * (2 * MiB),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"
    if xml:
        assert "<Code>20001</Code>" in answer.text and "<Status>413</Status>" in answer.text
    else:
        assert answer.json()["code"] == 20001 and answer.json()["status"] == 413


def test_the_twilio_sdk_is_told_413_for_a_body_over_the_limit(edge: LoftServer) -> None:
    client = clients.sdk(edge.base_url, edge.account_sid, edge.auth_token)
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to="+15558675310", from_="+15005550006", body="x" * (2 * MiB))
    assert (refused.value.status, refused.value.code) == (413, 20001)


def test_a_chunked_body_is_read_up_to_the_limit_and_cut_off_past_it(edge: LoftServer) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        yield b"To=%2B15558675310&From=%2B15005550006&Body="
        for _ in range(total // 8192):
            yield b"x" * 8192

    base = f"/2010-04-01/Accounts/{edge.account_sid}/Messages.json"
    with httpx.Client(base_url=edge.base_url, timeout=30, auth=(edge.account_sid, edge.auth_token)) as http:
        within = http.post(base, content=chunks(8192))
        past = http.post(base, content=chunks(64 * MiB))
    assert within.status_code == 400 and within.json()["code"] == 21617  # read whole: a body over 1600 characters
    assert past.status_code == 413 and past.json()["code"] == 20001
    assert past.headers["connection"] == "close"  # the rest of the body is not read
    assert "Traceback" not in edge.log()


# The head --------------------------------------------------------------------------------------------------------


def test_an_8_mb_header_is_answered_431_before_it_is_all_sent(edge: LoftServer) -> None:
    before = peak_rss(edge)
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: loft\r\nX-Big: ")
        sent = 0
        try:
            while sent < 8 * MiB:
                conn.sendall(b"a" * 65536)
                sent += 65536
        except OSError:  # (the server has answered and closed)
            pass
        error = twilio_error(answer_of(conn), 431)
    assert sent < 8 * MiB
    assert error["message"] == "The request's headers are larger than 16384 bytes"
    assert peak_rss(edge) - before < 8 * MiB


def head_answer(server: LoftServer, headers: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: loft\r\nConnection: close\r\n" + headers + b"\r\n")
        return answer_of(conn)


@pytest.mark.parametrize(("within", "past", "says"), [
    pytest.param(b"X-Big: " + b"a" * 15_000 + b"\r\n", b"X-Big: " + b"a" * 20_000 + b"\r\n",
                 "The request's headers are larger than 16384 bytes", id="one-header-in-one-write"),
    pytest.param(b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(15)),
                 b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(17)),
                 "The request's headers are larger than 16384 bytes", id="many-kilobytes-of-headers"),
    pytest.param(b"".join(b"X-%d: a\r\n" % i for i in range(98)), b"".join(b"X-%d: a\r\n" % i for i in range(99)),
                 "The request has more than 100 headers", id="headers-counted"),
])
def test_a_head_within_its_limits_is_answered_and_one_past_them_431(edge: LoftServer, within: bytes, past: bytes,
                                                                     says: str) -> None:
    answered = head_answer(edge, within)
    assert answered.startswith(b"HTTP/1.1 200 "), answered[:300]
    assert twilio_error(head_answer(edge, past), 431)["message"] == says


# Time ------------------------------------------------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(edge: LoftServer) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as conn:
        assert answer_of(conn, wait=TIMEOUT + 8) == b""  # closed, with nothing to say
    assert TIMEOUT - 0.5 <= time.monotonic() - started < TIMEOUT + 8


def test_a_dripped_head_is_answered_408_and_closed(edge: LoftServer) -> None:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")
        deadline = time.monotonic() + TIMEOUT + 8
        try:
            while time.monotonic() < deadline:
                conn.sendall(b"X-Drip: a\r\n")  # a header every 0.2 s: the head never ends
                time.sleep(0.2)
        except OSError:
            pass
        error = twilio_error(answer_of(conn), 408)
    assert error["message"] == f"The request was not received within {TIMEOUT:g} seconds"


def test_a_body_that_stops_coming_is_answered_408_and_closed(edge: LoftServer) -> None:
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as conn:
        conn.sendall(b"POST /console/signin HTTP/1.1\r\nHost: loft\r\nContent-Length: 100\r\n\r\nusername=AC")
        twilio_error(answer_of(conn, wait=TIMEOUT + 8), 408)
    assert "Traceback" not in edge.log()


# Connections -----------------------------------------------------------------------------------------------------


@contextmanager
def idle_connections(server: LoftServer, count: int) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        yield [stack.enter_context(socket.create_connection(("127.0.0.1", server.port), timeout=10))
               for _ in range(count)]


def test_connections_past_the_cap_are_answered_429_and_logged_once(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_MAX_CONNECTIONS": "8"}
    with server.running(), httpx.Client(base_url=server.base_url, timeout=10) as http:
        with idle_connections(server, 8):
            time.sleep(0.5)  # (accepted)
            with idle_connections(server, 20) as refused:
                answers = [answer_of(conn) for conn in refused]
        eventually(lambda: http.get("/healthz").status_code == 200)
        log = server.log()
    for answer in answers:
        error = twilio_error(answer, 429)
        assert error["code"] == 20429
    assert log.count("connections are open (LOFT_MAX_CONNECTIONS): refusing new ones until some close") == 1
    assert log.count("accepting connections again (20 were refused)") == 1


def test_idle_sockets_past_the_inherited_file_limit_leave_the_database_writable(tmp_path: Path) -> None:
    """Issue 17: 300 idle sockets used up the server's open-file limit, and the WAL's fsync then failed (EMFILE).
    The server raises its own limit to hold LOFT_MAX_CONNECTIONS connections beside its database."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard open-file limit ({hard}) is too low to raise")
    server = make_server(tmp_path)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the server
    try:
        server.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        with idle_connections(server, 600):
            time.sleep(0.5)
            client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
            sent = client.messages.create(to="+15558675310", from_="+15005550006", body="still writable")
            assert client.messages(sent.sid).fetch().body == "still writable"
    finally:
        server.stop()
    assert "Too many open files" not in server.log()


@pytest.mark.parametrize(("limits", "cap", "warned"), [
    pytest.param((1024, 1024), 1024 - 128 - 256, True, id="hard-limit-too-low"),
    pytest.param((256, 4096), 1000, False, id="soft-limit-raised"),
])
def test_the_connection_cap_fits_the_open_file_limit(limits: tuple[int, int], cap: int, warned: bool) -> None:
    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, {limits})\n"
        "from loft.config import Settings\n"
        "from loft.serving import fit_file_limit\n"
        "print(fit_file_limit(Settings()), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    fitted, soft = (int(word) for word in run.stdout.split())
    assert fitted == cap
    assert soft >= cap + 128 + 256 or warned
    assert ("leaves room for" in run.stderr) is warned
