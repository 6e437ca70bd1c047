"""Run ``wrk`` (closed loop: each connection sends its next request when the previous one is answered).

``bench/wrk.lua`` sends one request with HTTP Basic auth and prints a JSON summary (``BENCH_JSON …``): the
number of requests, wrk's latency percentiles (HdrHistogram, microseconds) and the answers by status code.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk.lua")
INSTALL_HINT = "wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu) and run again."


def available() -> bool:
    return shutil.which("wrk") is not None


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    statuses: dict[str, int]
    command: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        """Socket errors plus answers other than 2xx."""
        bad = sum(n for code, n in self.statuses.items() if not code.startswith("2"))
        return bad + sum(n for kind, n in self.errors.items() if kind != "status")


def command(url: str, *, connections: int, threads: int, seconds: int) -> list[str]:
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(SCRIPT), url]


def run(url: str, *, auth: str | None, body: str | None = None, connections: int = 32, threads: int = 2,
        seconds: int = 10) -> WrkResult:
    argv = command(url, connections=connections, threads=threads, seconds=seconds)
    env = dict(os.environ)
    env["BENCH_METHOD"] = "POST" if body is not None else "GET"
    env.pop("BENCH_BODY", None)
    env.pop("BENCH_AUTH", None)
    if body is not None:
        env["BENCH_BODY"] = body
    if auth:
        env["BENCH_AUTH"] = auth
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["latency_us"]["p50"] / 1000,
        p99_ms=data["latency_us"]["p99"] / 1000,
        errors=data["errors"],
        statuses={str(code): n for code, n in data["statuses"].items()},
        command=" ".join(argv[:-2] + ["bench/wrk.lua", url]),
    )
