"""``LOFT_LOG_FORMAT=json``: every line a real server (and the processes it starts) logs is one JSON object, with
time, level, logger and message, client-controlled text escaped; the default stays uvicorn's text."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from loft.logs import JsonFormatter
from tests.conftest import make_server
from tests.support import children
from tests.support.server import LoftServer
from tests.support.waiting import eventually


@contextmanager
def serving(tmp_path: Path, **env: str) -> Iterator[tuple[LoftServer, Path]]:
    """A real ``loft serve`` whose standard error (its log) goes to a file of its own (standard output carries the
    start banner for people); the server and the path of its log."""
    server = make_server(tmp_path)
    server.extra_env = {"LOFT_LOG_LEVEL": "info", **env}
    tmp_path.mkdir(parents=True, exist_ok=True)
    errors = tmp_path / "stderr.log"
    with errors.open("wb") as err, (tmp_path / "stdout.log").open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "loft", "serve", "--port", str(server.port)],
                                   env=server.env(), stdout=out, stderr=err)
    server.process = process
    try:
        eventually(lambda: _answers(server), timeout=30)
        yield server, errors
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def _answers(server: LoftServer) -> bool:
    try:
        return httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def raw_request(server: LoftServer, target: str) -> None:
    """A request sent as bytes, so that the target reaches the server exactly as written."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        while sock.recv(65536):
            pass


def test_json_logs_are_one_object_per_line_for_uvicorn_and_loft(tmp_path: Path) -> None:
    with serving(tmp_path, LOFT_LOG_FORMAT="json", LOFT_WORKER_PROCESSES="1") as (server, log):
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
        raw_request(server, '/forged%0A{"level":"CRITICAL"}/"quoted"\\x')
        worker = children.only(server, "worker")
        os.kill(worker, signal.SIGKILL)  # the server logs (loft.processes) that its worker died
        eventually(lambda: "exited with code -9" in log.read_text(), timeout=30)
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line: one JSON object
    assert records and all(isinstance(record, dict) for record in records)
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
        assert datetime.fromisoformat(record["time"].replace("Z", "+00:00")).tzinfo is not None
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        assert all(ord(c) < 128 for c in json.dumps(record))
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "uvicorn.access", "loft.processes"} <= loggers
    assert any(r["logger"] == "uvicorn.error" and "Uvicorn running on" in r["message"] for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any(r["path"] == "/healthz" and r["status"] == 200 and r["method"] == "GET" for r in access)
    forged = [r for r in access if r["path"].startswith("/forged")]
    assert len(forged) == 1 and forged[0]["status"] == 404  # the forged "record" stayed inside its own line
    assert not any(r["level"] == "CRITICAL" for r in records)
    died = [r for r in records if r["logger"] == "loft.processes" and "exited with code -9" in r["message"]]
    assert died and died[0]["level"] == "ERROR"
    assert server.auth_token not in log.read_text()


def test_the_default_log_format_stays_uvicorn_s_text(tmp_path: Path) -> None:
    with serving(tmp_path) as (server, log):
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
        out = tmp_path / "stdout.log"  # where uvicorn's own configuration sends its access lines
        eventually(lambda: '"GET /healthz HTTP/1.1" 200' in out.read_text(), timeout=10)
    assert "INFO:     Uvicorn running on" in log.read_text()
    assert not any(line.startswith("{") for line in [*log.read_text().splitlines(), *out.read_text().splitlines()])


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_bot_connectors_key_in_a_path_is_hidden_in_access_lines(tmp_path: Path, log_format: str) -> None:
    """The connector's key is a credential carried in its path (botbuilder's local mode sends nothing else):
    access lines show ``…`` in its place, in both formats."""
    key = "k3yThatMustNotBeLogged"
    with serving(tmp_path, LOFT_LOG_FORMAT=log_format) as (server, log):
        answer = httpx.post(f"{server.base_url}/loft/botframework/BT00000000000000000000000000000000/{key}"
                            "/v3/conversations", json={})
        assert answer.status_code in (401, 403, 404)
        where = log if log_format == "json" else tmp_path / "stdout.log"
        eventually(lambda: "/loft/botframework/BT00000000000000000000000000000000/…/v3/conversations"
                   in where.read_text(encoding="utf-8", errors="replace")
                   or "/loft/botframework/BT00000000000000000000000000000000/\\u2026/v3/conversations"
                   in where.read_text(), timeout=10)
    assert key not in log.read_text() + (tmp_path / "stdout.log").read_text()


def test_a_record_with_an_exception_is_one_line_with_its_traceback_escaped() -> None:
    logger = logging.getLogger("loft.test_logs")
    try:
        raise ValueError("bad\nvalue \udcff é")
    except ValueError:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed on %s", ("line\nbreak",),
                                   sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and line.isascii()
    parsed = json.loads(line)
    assert parsed["message"] == "failed on line\nbreak"
    assert parsed["logger"] == "loft.test_logs" and parsed["level"] == "ERROR"
    assert parsed["exception"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad\nvalue \udcff é" in parsed["exception"]
    assert abs(datetime.fromisoformat(parsed["time"].replace("Z", "+00:00")).timestamp() - time.time()) < 60
