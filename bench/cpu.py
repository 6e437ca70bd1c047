"""CPU time spent on a workload by every process that serves it: Loft's and PostgreSQL's.

A :class:`Meter` samples ``/proc`` a few times a second while a measurement runs: the Loft processes it is
given (each with its live children: ``loft serve`` starts its ``loft worker`` and API children), and, for a
PostgreSQL database, the backends serving that database, found by their command line (PostgreSQL names the
database there: ``postgres: 15/main: postgres loft_bench_… 127.0.0.1(41234) idle``). It keeps the last CPU
time seen of each process, so a process that starts during the measurement counts from its start (a pool
opening a backend), and one that exits counts up to the last sample before its exit (at most one sampling
interval lost). PostgreSQL's shared processes (WAL writer, checkpointer, background writer, autovacuum) serve
every database of the server, other users' included, so they are reported apart and not counted.

CPU time (user + system) per message is far less disturbed by other load on the machine than throughput: a
busy neighbour slows the run down but adds little CPU time to the processes measured.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs

#: Seconds between two samples.
EVERY = 0.2
#: PostgreSQL's processes that serve the whole server, by the word after ``postgres: [cluster:] ``.
_SHARED = ("checkpointer", "background writer", "walwriter", "autovacuum launcher", "autovacuum worker",
           "logical replication launcher", "stats collector", "archiver", "walsender")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def postgres_processes(database: str | None) -> tuple[list[int], list[int]]:
    """The pids of the backends serving ``database`` (none without one), and of PostgreSQL's shared processes."""
    backends: list[int] = []
    shared: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        line = _cmdline(int(entry.name))
        if not line.startswith("postgres: "):
            continue
        words = line.removeprefix("postgres: ")
        if any(words.startswith(kind) or f": {kind}" in words for kind in _SHARED):
            shared.append(int(entry.name))
        elif database is not None and f" {database} " in f" {words} ":
            backends.append(int(entry.name))
    return backends, shared


@dataclass
class Usage:
    """CPU seconds by group of processes over one measurement."""

    loft: float = 0.0
    postgres: float = 0.0
    postgres_shared: float = 0.0
    seconds: float = 0.0
    #: How many distinct processes each group had over the measurement.
    processes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Loft's processes and the database's backends (PostgreSQL's shared processes are not counted)."""
        return self.loft + self.postgres

    def as_dict(self, messages: int) -> dict[str, float | int | dict[str, int]]:
        per = 1000 / messages if messages else 0.0
        return {"loft_cpu_seconds": round(self.loft, 3), "postgres_cpu_seconds": round(self.postgres, 3),
                "postgres_shared_cpu_seconds": round(self.postgres_shared, 3),
                "cpu_seconds": round(self.total, 3), "measured_seconds": round(self.seconds, 2),
                "cpu_ms_per_message": round(self.total * per, 4),
                "loft_cpu_ms_per_message": round(self.loft * per, 4),
                "postgres_cpu_ms_per_message": round(self.postgres * per, 4),
                "cores_used": round(self.total / self.seconds, 2) if self.seconds else 0.0,
                "processes": dict(self.processes)}


class Meter:
    """Samples the CPU time of ``roots`` (with their children) and of ``database``'s backends, from
    :meth:`start` to :meth:`stop`."""

    def __init__(self, roots: list[procs.Proc], database: str | None = None) -> None:
        self.roots = roots
        self.database = database
        self._first: dict[int, float] = {}  # CPU time of a process alive at the start, at the start
        self._last: dict[int, float] = {}
        self._group: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._began = 0.0

    def _pids(self) -> dict[int, str]:
        found: dict[int, str] = {}
        for root in self.roots:
            if root.alive():
                found.update((pid, "loft") for pid in procs.tree(root.pid))
        backends, shared = postgres_processes(self.database)
        found.update((pid, "postgres") for pid in backends)
        found.update((pid, "postgres_shared") for pid in shared)
        return found

    def _sample(self, *, first: bool = False) -> None:
        for pid, group in self._pids().items():
            used = procs.cpu_seconds(pid)
            if used is None:
                continue
            if first:
                self._first[pid] = used
            self._last[pid] = used
            self._group.setdefault(pid, group)

    def start(self) -> Meter:
        self._began = time.monotonic()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(EVERY):
            self._sample()

    def stop(self) -> Usage:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        usage = Usage(seconds=time.monotonic() - self._began)
        for pid, last in self._last.items():
            group = self._group[pid]
            setattr(usage, group, getattr(usage, group) + last - self._first.get(pid, 0.0))
            usage.processes[group] = usage.processes.get(group, 0) + 1
        return usage


def machine_ticks() -> tuple[int, int]:
    """The machine's stolen and total CPU time so far, in clock ticks, all cores together (``/proc/stat``): what
    :func:`steal_percent` compares."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    # user nice system idle iowait irq softirq steal guest guest_nice; guest time is within user time already
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_percent(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of the machine's CPU time the hypervisor gave other guests between two :func:`machine_ticks`:
    time this machine's processes waited for a core they were promised. None when ``/proc/stat`` was not read."""
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 2) if total > 0 else None


def per_core(rate: float | None, cpu_percent: float | None) -> float | None:
    """Requests (or messages) per second per core used: ``rate`` over the cores the server's processes used."""
    if not rate or not cpu_percent:
        return None
    return rate / (cpu_percent / 100)

