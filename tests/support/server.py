"""A real ``loft serve`` in a subprocess, on a free loopback port, against SQLite or PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LoftServer:
    data_dir: Path
    account_sid: str
    auth_token: str
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    #: Start it as one more API process of a server already serving its SQLite data dir (what ``loft serve
    #: --processes N`` starts, there on the server's port), on a port of its own so that a test can address it: it
    #: takes no part in the data dir's lock, and stops when its standard input closes.
    api_child: bool = False
    #: More options of ``loft serve`` (``--processes auto`` …).
    serve_args: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "LOFT_ACCOUNT_SID": self.account_sid, "LOFT_AUTH_TOKEN": self.auth_token,
               "LOFT_DATA_DIR": str(self.data_dir), "LOFT_LOG_LEVEL": "warning",
               # The suite fails to authenticate on purpose, from one address, far more often than a client would:
               # a generous allowance (tests/accounts/test_throttle.py checks the default's behaviour).
               "LOFT_AUTH_FAILURES_PER_MINUTE": "100000", **self.extra_env}
        if self.database_url:
            env["LOFT_DATABASE_URL"] = self.database_url
        else:
            env.pop("LOFT_DATABASE_URL", None)
        return env

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "loft", "serve", "--port", str(self.port),
                 *(["--supervised"] if self.api_child else []), *self.serve_args],
                env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if self.api_child else None,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"loft serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"loft serve did not answer within 30 s:\n{self.log()}")

    def spawn(self, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Another ``loft`` process (``worker`` …) on the same data dir and database (``env``: settings of its own)."""
        assert self.log_path is not None
        with self.log_path.open("ab") as log:
            return subprocess.Popen([sys.executable, "-m", "loft", *command], env={**self.env(), **(env or {})},
                                    stdout=log, stderr=subprocess.STDOUT)

    @contextmanager
    def running(self) -> Iterator[LoftServer]:
        """Started for the block, stopped after it (also when the block fails)."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdin:
            self.process.stdin.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, what a crash looks like."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""
