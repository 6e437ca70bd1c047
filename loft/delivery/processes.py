"""The ``loft worker`` processes that ``loft serve`` delivers in, with ``LOFT_WORKER_PROCESSES=N``.

By default ``loft serve`` delivers inside its own process. With ``N`` > 0 it answers the API alone and runs
delivery in ``N`` child ``loft worker`` processes, which can use other cores (docs/deployment.md has what it
measured). The children are ordinary workers on the same database (claims, leases and exactly-once are theirs,
see :mod:`loft.delivery.outbox`); what the server adds is a pipe to each child's standard input:

- a byte is a wake-up: the API committed new work (:meth:`loft.context.Loft.wake`), so the child claims it at
  once instead of at its next poll;
- end of file says the server is gone (stopped, or killed outright): the child finishes the jobs it is running
  and exits, so no worker outlives its server. The server alone decides when its children stop: they run in
  a session of their own, out of reach of the SIGINT that Ctrl-C sends to the terminal's foreground group.

A child that exits while the server runs is started again, after a pause that doubles from 1 s to 30 s while
it keeps failing within a minute of its start. Children hold no credentials of their own: they sign callbacks
with the account's auth token, which no API request can change.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from asyncio.subprocess import PIPE, Process

from loft.config import Settings
from loft.context import Loft

log = logging.getLogger("loft.workers")

WAKE = b"."
RESTART_FIRST = 1.0
RESTART_MAX = 30.0
#: A child that ran this long before exiting is restarted after the first pause again.
STABLE_AFTER = 60.0
#: How long stopping waits for children to finish their running jobs (a worker gives them 30 s) before a kill.
STOP_GRACE = 40.0


class WorkerProcesses:
    """Starts, wakes, restarts and stops the ``loft worker`` children of one ``loft serve``."""

    def __init__(self, settings: Settings, wake: asyncio.Event) -> None:
        self.settings = settings
        self.count = settings.delivery_processes
        self._wake = wake
        self._stop = asyncio.Event()
        self._children: list[Process] = []
        self._watchers: list[asyncio.Task[None]] = []
        self._relay_task: asyncio.Task[None] | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "loft", "worker", "--data-dir", str(self.settings.data_dir), "--supervised"]

    async def start(self) -> None:
        for index in range(self.count):
            self._children.append(await self._spawn(index))
            self._watchers.append(asyncio.create_task(self._watch(index)))
        self._relay_task = asyncio.create_task(self._relay())

    async def stop(self) -> None:
        """Close every child's pipe (each finishes its running jobs and exits); kill what is left after the grace."""
        self._stop.set()
        for child in self._children:
            _close(child)
        if self._relay_task is not None:
            self._relay_task.cancel()
        if self._watchers:
            _, late = await asyncio.wait(self._watchers, timeout=STOP_GRACE)
            for child in self._children:
                if child.returncode is None:
                    log.error("loft worker (pid %d) did not stop within %.0f s: killed", child.pid, STOP_GRACE)
                    child.kill()
            if late:
                await asyncio.wait(late)
        if self._relay_task is not None:
            await asyncio.gather(self._relay_task, return_exceptions=True)

    async def _spawn(self, index: int) -> Process:
        child = await asyncio.create_subprocess_exec(*self.command(), stdin=PIPE, start_new_session=True)
        log.info("loft worker #%d started (pid %d)", index + 1, child.pid)
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
            log.error("loft worker #%d (pid %d) exited with code %s: starting another in %.0f s",
                      index + 1, child.pid, code, pause)
            while True:
                if await self._stopped_within(pause):
                    return
                pause = min(pause * 2, RESTART_MAX)
                try:
                    self._children[index] = await self._spawn(index)
                    break
                except OSError as exc:
                    log.error("loft worker #%d could not be started (%s): trying again in %.0f s",
                              index + 1, exc, pause)

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _relay(self) -> None:
        """Pass the API's wake-ups on: one byte per burst, none to a child that has not read the last one yet."""
        while True:
            await self._wake.wait()
            self._wake.clear()
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


class _ServerPipe(asyncio.Protocol):
    def __init__(self, loft: Loft, stop: asyncio.Event) -> None:
        self.loft = loft
        self.stop = stop

    def data_received(self, data: bytes) -> None:
        self.loft.wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop.set()


async def listen_to_server(loft: Loft, stop: asyncio.Event) -> None:
    """In a supervised ``loft worker``: wake on every byte the server writes; stop when its pipe closes."""
    await asyncio.get_running_loop().connect_read_pipe(lambda: _ServerPipe(loft, stop), sys.stdin)
