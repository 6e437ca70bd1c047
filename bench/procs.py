"""The processes a benchmark drives: ``loft serve`` / ``loft worker``, the baseline app, the callback receiver.

Every process is started with ``sys.executable`` (the venv's Python) from the repository root, logs to a
file in the run's temporary directory, listens on 127.0.0.1 only, and is stopped with SIGTERM (then SIGKILL).
Every started process is remembered until it is stopped, so ``stop_all()`` (called by the driver on the way
out, also after Ctrl-C or an exception) leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
#: Pinned credentials of the main account (LOFT_ACCOUNT_SID / LOFT_AUTH_TOKEN), as CI would pin them.
ACCOUNT_SID = "AC" + "b3" * 16
AUTH_TOKEN = "bench" + "0" * 27
#: A fixed Fernet key, so that several processes sharing one database read the same sealed tokens.
SECRET_KEY = "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtMTI="


#: Processes started and not yet stopped.
RUNNING: list[Proc] = []


def stop_all() -> None:
    """Stop every process still running, newest first."""
    for proc in reversed(list(RUNNING)):
        proc.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (``loft serve`` starts its ``loft worker`` processes), from /proc."""
    pids, index = [pid], 0
    while index < len(pids):
        try:
            children = Path(f"/proc/{pids[index]}/task/{pids[index]}/children").read_text().split()
        except OSError:
            children = []
        pids.extend(int(child) for child in children)
        index += 1
    return pids


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set size) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _total(measure: Callable[[int], float | None], pid: int) -> float | None:
    values = [value for value in map(measure, tree(pid)) if value is not None]
    return sum(values) if values else None


@dataclass
class Proc:
    """A child process with a log file; ``url`` is where it answers HTTP, if it does."""

    name: str
    argv: Sequence[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    ready_path: str = "/healthz"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> Proc:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(list(self.argv), env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT)
        RUNNING.append(self)
        if wait and self.port is not None:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def peak_rss_mb(self) -> float | None:
        """The sum of the peaks of the process and its children (a bound on the peak of their sum)."""
        return _total(peak_rss_mb, self.pid) if self.process and self.process.poll() is None else None

    def cpu_seconds(self) -> float | None:
        """CPU time of the process and its live children."""
        return _total(cpu_seconds, self.pid) if self.process and self.process.poll() is None else None

    def stop(self, timeout: float = 20.0) -> None:
        if self in RUNNING:
            RUNNING.remove(self)
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        """Lines of the log that report errors (tracebacks, ERROR/WARNING records)."""
        if not self.log_path.exists():
            return []
        keys = ("Traceback", "ERROR", "Error", "WARNING", "Exception")
        return [line for line in self.log_path.read_text(errors="replace").splitlines()
                if any(key in line for key in keys)]


@dataclass
class LoftConfig:
    """Settings shared by every Loft process of one scenario."""

    data_dir: Path
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("LOFT_")}
        env.update(LOFT_ACCOUNT_SID=ACCOUNT_SID, LOFT_AUTH_TOKEN=AUTH_TOKEN, LOFT_SECRET_KEY=SECRET_KEY,
                   LOFT_DATA_DIR=str(self.data_dir), LOFT_LOG_LEVEL="warning", PYTHONUNBUFFERED="1")
        if self.database_url:
            env["LOFT_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def serve(self, *, port: int | None = None, workers: bool = True) -> Proc:
        port = port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = self.env(LOFT_WORKERS="true" if workers else "false")
        return Proc(f"loft serve :{port}", [sys.executable, "-m", "loft", "serve", "--port", str(port)], env,
                    self.data_dir / f"serve-{port}.log", port=port)

    def worker(self, index: int) -> Proc:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return Proc(f"loft worker #{index}", [sys.executable, "-m", "loft", "worker"], self.env(),
                    self.data_dir / f"worker-{index}.log")


def script(name: str, module: str, port: int, log_dir: Path, *args: str) -> Proc:
    """A helper server of the suite (``bench.baseline``, ``bench.receiver``) on ``port``."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return Proc(name, [sys.executable, "-m", module, "--port", str(port), *args], env,
                log_dir / f"{module.rsplit('.', 1)[-1]}-{port}.log", port=port)
