"""What the benchmarks ran on: CPU, cores, memory, OS, Python, SQLite, PostgreSQL, the key packages, git."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.procs import ROOT

PACKAGES = ("uvicorn", "starlette", "sqlalchemy", "aiosqlite", "asyncpg", "aiohttp", "httpx", "uvloop", "httptools",
            "orjson")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _wrk_version() -> str:
    try:
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False)
        return (done.stdout or done.stderr).splitlines()[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "not installed"


def describe(postgres_version: str | None) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", "loft"))
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version or "not used",
        "wrk": _wrk_version(),
        "packages": versions,
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_describe": _git("log", "-1", "--format=%h %s") or "unknown",
        #: Uncommitted changes under loft/ when the run started: the table then measures work in progress.
        "loft_tree_dirty": dirty,
        "load_average_at_start": list(os.getloadavg()),
    }
