"""The child processes of one ``loft serve``: more API processes (``--processes N``) and ``loft worker``
processes to deliver in (``--worker-processes N``).

By default ``loft serve`` is one process that answers the API and delivers. With ``LOFT_PROCESSES=N`` it
starts ``N - 1`` more ``loft serve`` processes that listen on the same address (``SO_REUSEPORT``: the kernel
spreads connections over them), each with its own delivery worker; with ``LOFT_WORKER_PROCESSES=N`` it
answers the API alone and delivers in ``N`` child ``loft worker`` processes (docs/deployment.md has what each
layout measured). Children are ordinary Loft processes on the same database: claims, leases and exactly-once
are the database's (:mod:`loft.delivery.outbox`), and on SQLite they take turns to write
(:mod:`loft.db.engine`). What the server adds is a pipe to each child's standard input:

- a byte is a wake-up, sent to worker children: the API committed new work (:meth:`loft.context.Loft.wake`),
  so the child claims it at once instead of at its next poll;
- end of file says the server is gone (stopped, or killed outright): the child finishes what it is doing and
  exits, so no child outlives its server. The server alone decides when its children stop: they run in a
  session of their own, out of reach of the SIGINT that Ctrl-C sends to the terminal's foreground group.

An API child started with the server also gets a pipe of its own to say it is ready (``--ready-fd``): it
listens on its socket from its start (connections the kernel gives it meanwhile wait in its backlog), and writes
a byte once it is up. The server waits for every child's byte before it answers itself, so that clients that
connect once the server answers are spread over all the processes from their first connection (a keep-alive
connection stays where it was opened). A child started again after it died listens only once it is up, as the
kernel gives a socket that closes before it accepts nothing but resets.

How many API processes: ``LOFT_PROCESSES=auto`` picks what the design scales to (:func:`auto_processes`). On
PostgreSQL, one per core: the processes share nothing but the database, whose rows and locks they do not
serialise on. On SQLite, one per core up to :data:`SQLITE_MOST_PROCESSES`: the processes take turns to write the
file (one writer at a time, each committing and ``fsync``-ing its own transactions), so past a few of them they
wait for the turn rather than answer. Measured (``wrk -c128``, create): 3,411 / 7,234 / 8,242 / 5,025 requests/s
for 1 / 2 / 4 / 8 processes on 16 cores, and on 2 cores two processes beat one and three are slower than two
(docs/deployment.md). An explicit number is honoured whatever the database, with a warning at start when it is
past what ``auto`` would pick on SQLite (:func:`note_layout`): the operator may know their machine better than
these figures, and a setting that silently became another number would be a surprise.

A child that exits while the server runs is started again, after a pause that doubles from 1 s to 30 s while
it keeps failing within a minute of its start. Children hold no credentials of their own: they read the
account's auth token from the database, like the server.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
from asyncio.subprocess import PIPE, Process
from collections.abc import Callable, Sequence
from pathlib import Path

from loft.config import Settings

log = logging.getLogger("loft.processes")

WAKE = b"."
READY = b"r"
#: How long a server waits for its API children to be up before it answers anyway (they start in a second or two).
READY_WAIT = 60.0
RESTART_FIRST = 1.0
RESTART_MAX = 30.0
#: A child that ran this long before exiting is restarted after the first pause again.
STABLE_AFTER = 60.0
#: How long stopping waits for children to finish their running jobs (a worker gives them 30 s) before a kill.
STOP_GRACE = 40.0


#: The most API processes ``auto`` runs on SQLite (see the module's docstring): 4 was the fastest of 1, 2, 4 and 8
#: measured on 16 cores, 8 slower than 2.
SQLITE_MOST_PROCESSES = 4


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, a cpuset), and no more than a cgroup's
    CPU quota allows (a container's ``--cpus``; cgroup v2's ``cpu.max``), rounded up."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return max(1, cores)
    if quota != "max" and int(period) > 0:
        cores = min(cores, math.ceil(int(quota) / int(period)))
    return max(1, cores)


def auto_processes(database_url: str, cores: int | None = None) -> int:
    """What ``LOFT_PROCESSES=auto`` runs for the database at ``database_url`` (a resolved SQLAlchemy URL) on
    ``cores`` cores (default: :func:`available_cores`): one per core, on SQLite no more than
    :data:`SQLITE_MOST_PROCESSES`, and one for an in-memory SQLite database (no other process can open it)."""
    cores = available_cores() if cores is None else cores
    if not database_url.startswith("sqlite"):
        return cores
    if ":memory:" in database_url or database_url.endswith(":///"):
        return 1
    return min(cores, SQLITE_MOST_PROCESSES)


def auto_line(settings: Settings) -> str | None:
    """With ``LOFT_PROCESSES=auto``: a line for the server's start saying what it picked, and why."""
    if settings.processes != "auto":
        return None
    count = settings.api_processes
    sqlite = settings.resolved_database_url.startswith("sqlite")
    return (f"LOFT_PROCESSES=auto: {count} API process{'' if count == 1 else 'es'} "
            f"({f'SQLite: at most {SQLITE_MOST_PROCESSES}' if sqlite else 'PostgreSQL: one per core'}, "
            f"{available_cores()} cores available)")


def note_layout(settings: Settings) -> None:
    """At a server's start: warn of an explicit number of API processes past what ``auto`` would pick on SQLite
    (the number is honoured: see the module's docstring)."""
    count = settings.api_processes
    if settings.processes == "auto" or not settings.resolved_database_url.startswith("sqlite"):
        return
    best = auto_processes(settings.resolved_database_url)
    if count > best:
        log.warning("LOFT_PROCESSES=%d on SQLite: running %d API processes as asked, but past %d on this machine "
                    "(%d cores) they are slower, not faster: they take turns to write the file and each fsyncs its "
                    "own commits. LOFT_PROCESSES=auto runs %d; PostgreSQL scales further (docs/deployment.md)",
                    count, count, best, available_cores(), best)


def worker_command(settings: Settings, index: int = 0) -> list[str]:
    """The command of the server's ``index``-th worker child: the first runs every network carrier, the others
    only those that run in every worker (``instances = "per-worker"``: see loft/delivery/carriers/hub.py)."""
    return [sys.executable, "-m", "loft", "worker", "--data-dir", str(settings.data_dir), "--supervised",
            "--carriers", "all" if index == 0 else "per-worker"]


def serve_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "loft", "serve", "--host", settings.host, "--port", str(settings.port),
            "--data-dir", str(settings.data_dir), "--supervised"]


def serve_environment(settings: Settings) -> dict[str, str]:
    """An API child's settings: the server's, but one process, delivering in itself unless the server has worker
    processes to deliver in (which it wakes); network carriers run in the server's own worker, never in an API child."""
    env = {**os.environ, "LOFT_PROCESSES": "1", "LOFT_WORKER_PROCESSES": "0", "LOFT_CARRIERS_HERE": "none"}
    if settings.delivery_processes:
        env["LOFT_WORKERS"] = "false"
    return env


class Children:
    """Starts, restarts and stops children of one ``loft serve`` (each with a pipe on its standard input), and
    passes ``wake`` on to them when it is given."""

    def __init__(self, kind: str, commands: Sequence[list[str]], *, env: dict[str, str] | None = None,
                 wake: asyncio.Event | None = None, ready: bool = False) -> None:
        self.kind = kind
        self.commands = list(commands)
        self.env = env
        self._wake = wake
        #: Each child started by start() is given ``--ready-fd`` and says there when it is up; start() waits for it.
        self._ready = ready
        self._said_ready: dict[int, asyncio.Future[bool]] = {}
        self._stop = asyncio.Event()
        self._children: list[Process] = []
        self._watchers: list[asyncio.Task[None]] = []
        self._relay_task: asyncio.Task[None] | None = None

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children]

    async def start(self) -> None:
        """Start the children; with ``ready``, return once each has said it is up (or died, or READY_WAIT
        passed: that one is logged, and the server goes on without waiting for it)."""
        for index in range(len(self.commands)):
            self._children.append(await self._spawn(index, ready=self._ready))
            self._watchers.append(asyncio.create_task(self._watch(index)))
        if self._wake is not None:
            self._relay_task = asyncio.create_task(self._relay(self._wake))
        if self._said_ready:
            await asyncio.wait(self._said_ready.values(), timeout=READY_WAIT)
            for index, said in self._said_ready.items():
                if not said.done() or not said.result():
                    log.warning("%s #%d (pid %d) was not up within %.0f s of its start: not waiting for it",
                                self.kind, index + 1, self._children[index].pid, READY_WAIT)

    async def stop(self) -> None:
        """Close every child's pipe (each finishes its running work and exits); kill what is left after the grace."""
        self._stop.set()
        for child in self._children:
            _close(child)
        if self._relay_task is not None:
            self._relay_task.cancel()
        if self._watchers:
            _, late = await asyncio.wait(self._watchers, timeout=STOP_GRACE)
            for child in self._children:
                if child.returncode is None:
                    log.error("%s (pid %d) did not stop within %.0f s: killed", self.kind, child.pid, STOP_GRACE)
                    child.kill()
            if late:
                await asyncio.wait(late)
        if self._relay_task is not None:
            await asyncio.gather(self._relay_task, return_exceptions=True)

    async def _spawn(self, index: int, *, ready: bool = False) -> Process:
        if not ready:
            child = await asyncio.create_subprocess_exec(*self.commands[index], stdin=PIPE, env=self.env,
                                                         start_new_session=True)
        else:
            heard, told = os.pipe()
            try:
                child = await asyncio.create_subprocess_exec(*self.commands[index], "--ready-fd", str(told),
                                                             stdin=PIPE, env=self.env, pass_fds=(told,),
                                                             start_new_session=True)
            except BaseException:
                os.close(heard)
                raise
            finally:
                os.close(told)  # the child's now: the pipe ends when the child does
            self._said_ready[index] = await _listen_for_ready(heard)
        log.info("%s #%d started (pid %d)", self.kind, index + 1, child.pid)
        return child

    async def _watch(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        pause = RESTART_FIRST
        while True:
            child = self._children[index]
            if self._stop.is_set():
                _close(child)  # started while stop() was closing the others
            started = loop.time()
            code = await child.wait()
            if self._stop.is_set():
                return
            if loop.time() - started >= STABLE_AFTER:
                pause = RESTART_FIRST
            log.error("%s #%d (pid %d) exited with code %s: starting another in %.0f s",
                      self.kind, index + 1, child.pid, code, pause)
            while True:
                if await self._stopped_within(pause):
                    return
                pause = min(pause * 2, RESTART_MAX)
                try:
                    self._children[index] = await self._spawn(index)
                    break
                except OSError as exc:
                    log.error("%s #%d could not be started (%s): trying again in %.0f s",
                              self.kind, index + 1, exc, pause)

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _relay(self, wake: asyncio.Event) -> None:
        """Pass the API's wake-ups on: one byte per burst, none to a child that has not read the last one yet."""
        while True:
            await wake.wait()
            wake.clear()
            for child in self._children:
                pipe = child.stdin
                if child.returncode is None and pipe is not None and not pipe.is_closing() \
                        and pipe.transport.get_write_buffer_size() == 0:
                    try:
                        pipe.write(WAKE)
                    except (BrokenPipeError, ConnectionResetError):  # it just died: _watch restarts it
                        pass


def _close(child: Process) -> None:
    if child.stdin is not None and not child.stdin.is_closing():
        child.stdin.close()


class _Pipe(asyncio.Protocol):
    """The reading end of a pipe between a server and its child: ``on_wake`` for what arrives, ``on_close`` at
    its end."""

    def __init__(self, on_wake: Callable[[], None], on_close: Callable[[], None]) -> None:
        self.on_wake = on_wake
        self.on_close = on_close

    def data_received(self, data: bytes) -> None:
        self.on_wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_close()


async def _listen_for_ready(fd: int) -> asyncio.Future[bool]:
    """A future of what a child says on the pipe ``fd`` (read end): True once it is up, False if it never is."""
    loop = asyncio.get_running_loop()
    said: asyncio.Future[bool] = loop.create_future()

    def settle(up: bool) -> None:
        if not said.done():
            said.set_result(up)

    # The child writes its byte and closes its end (or exits without a word): the pipe ends either way.
    await loop.connect_read_pipe(lambda: _Pipe(on_wake=lambda: settle(True), on_close=lambda: settle(False)),
                                 os.fdopen(fd, "rb", buffering=0))
    return said


def tell_server_ready(fd: int) -> None:
    """In an API child: say on the pipe ``fd`` (``--ready-fd``) that this process is up; the server may be gone."""
    try:
        os.write(fd, READY)
    except OSError:  # the server is gone: its closed pipe on standard input stops this process
        pass
    finally:
        os.close(fd)


async def listen_to_server(*, on_wake: Callable[[], None], on_close: Callable[[], None]) -> None:
    """In a supervised child: ``on_wake`` for every byte the server writes, ``on_close`` when its pipe closes."""
    await asyncio.get_running_loop().connect_read_pipe(lambda: _Pipe(on_wake, on_close), sys.stdin)


def listening_socket(host: str, port: int, *, first: bool) -> socket.socket:
    """A socket bound to ``host:port`` that other processes of this user may open too (``SO_REUSEPORT``): the
    kernel spreads new connections over those that listen. ``first``: make sure first that nothing else listens
    there, as a plain bind would (two Loft servers started on one port would otherwise share it without a word)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                        flags=socket.AI_PASSIVE)[0]
    if first:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)  # OSError "Address already in use" if something listens there
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def stop_this_process() -> None:
    """What SIGTERM does: a graceful stop (uvicorn's own handler in an API child)."""
    os.kill(os.getpid(), signal.SIGTERM)


def share_metrics(settings: Settings) -> None:
    """Before this server starts processes of its own (and imports prometheus-client): a fresh directory for all of
    them to count their metrics in (prometheus-client's multiprocess mode, see :mod:`loft.metrics`), named to them
    by ``PROMETHEUS_MULTIPROC_DIR`` and removed once they have stopped (:func:`drop_shared_metrics`, or at exit).
    One process needs none (and counts in memory, whatever the environment said)."""
    global _shared_metrics
    if not settings.metrics_on or (settings.api_processes == 1 and not settings.delivery_processes):
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return
    _shared_metrics = tempfile.mkdtemp(prefix="loft-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _shared_metrics
    atexit.register(drop_shared_metrics)  # a server that stops before its lifespan ran


def drop_shared_metrics() -> None:
    """Remove the directory :func:`share_metrics` made, if it did (the processes that counted there have stopped)."""
    if _shared_metrics is not None:
        shutil.rmtree(_shared_metrics, ignore_errors=True)


_shared_metrics: str | None = None
