"""Turns to write among the processes that share one SQLite file (``loft serve --processes N``, ``loft worker``).

SQLite's own busy handler polls for its write lock with sleeps of up to 100 ms; a process waiting here sleeps in
the kernel instead, and is woken the moment the other process's ``COMMIT`` is done (see :mod:`loft.db.sqlite`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os


class Turns:
    """Whose turn it is to write, among the processes that share one SQLite file: an exclusive ``flock`` of a
    file beside it, held from a group's ``BEGIN`` to the end of its ``COMMIT``.

    Taking a free turn costs a system call on the loop's thread; waiting for one is a thread's job (the kernel
    wakes it when the other process lets go). A wait cut short by cancellation goes on in its thread: the next
    :meth:`take` adopts it, and if nobody does, the turn is given back as soon as it arrives, never kept.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._wait: asyncio.Future[None] | None = None
        self._orphaned = False

    async def take(self) -> None:
        if self._wait is None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                self._wait = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, self._fd, fcntl.LOCK_EX)
                self._wait.add_done_callback(self._waited)
        wait = self._wait
        self._orphaned = False
        try:
            await asyncio.shield(wait)
        except asyncio.CancelledError:
            if not wait.done():
                self._orphaned = True  # _waited gives the turn back when it comes
            elif not wait.cancelled() and wait.exception() is None:
                self.give_back()  # it came as this task was cancelled
            raise

    def _waited(self, wait: asyncio.Future[None]) -> None:
        self._wait = None
        if self._orphaned and not wait.cancelled() and wait.exception() is None:
            self.give_back()
        self._orphaned = False

    def give_back(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)  # gives back a turn still held, if any


class NoTurns:
    """A database in memory has one process: nobody to take turns with."""

    async def take(self) -> None:
        return None

    def give_back(self) -> None:
        return None

    def close(self) -> None:
        return None
