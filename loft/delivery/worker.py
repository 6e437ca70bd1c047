"""The worker: claims due outbox jobs and runs them, a bounded number at a time.

It runs inside ``loft serve``, in the ``loft worker`` processes that ``loft serve`` starts (both woken at once
after the API commits new work: see :mod:`loft.delivery.processes`), or in ``loft worker`` processes started
by hand (which poll). A job that raises is retried with exponential backoff and, after ``MAX_ATTEMPTS``, dropped — a
send job then fails its message with 30008 so that nothing stays queued forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

from loft.context import Loft
from loft.db.engine import unavailable
from loft.delivery import lifecycle, outbox, send
from loft.delivery.outbox import Job
from loft.messages import service as message_service

log = logging.getLogger("loft.worker")

MAX_ATTEMPTS = 8
Handler = Callable[[Loft, Job], Awaitable[None]]


async def _status_callback(loft: Loft, job: Job) -> None:
    from loft.webhooks import status_callbacks

    await status_callbacks.handle(loft, job)


async def _inbound(loft: Loft, job: Job) -> None:
    from loft.webhooks import inbound

    await inbound.handle(loft, job)


def _handlers() -> dict[str, Handler]:
    return {
        outbox.SEND: send.handle_send,
        outbox.RECEIPT: send.handle_receipt,
        outbox.CALLBACK: _status_callback,
        outbox.INBOUND: _inbound,
    }


def _failed(exc: Exception, message: str, *args: object) -> None:
    """Log a failure: with its traceback when unexpected; in one line when the database is only unavailable
    for a moment (every turn would repeat the same traceback)."""
    if isinstance(exc, DBAPIError) and unavailable(exc):
        log.error(message + ": the database is unavailable: %s", *args, exc.orig)
    else:
        log.exception(message, *args)


class Worker:
    def __init__(self, loft: Loft) -> None:
        self.loft = loft
        self.concurrency = loft.settings.worker_concurrency
        self.poll_interval = loft.settings.worker_poll_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.handlers = _handlers()
        self._batch = max(1, self.concurrency // 8)
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                self.loft.work_ready.clear()
                if await self._claim():
                    continue
                # New work and finished jobs both set work_ready (loft.wake()); the poll interval catches work
                # that other processes recorded, and jobs that fall due.
                ready = asyncio.ensure_future(self.loft.work_ready.wait())
                await asyncio.wait([stopping, ready], timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
        finally:
            stopping.cancel()
        if self._running:
            await asyncio.wait(self._running, timeout=30)

    async def _claim(self) -> int:
        free = self.concurrency - len(self._running)
        if free <= 0 or (self._running and free < self._batch):
            return 0  # busy: claim when a batch of slots is free, in one transaction rather than one each
        try:
            lease = timedelta(seconds=self.loft.settings.job_lease_seconds)
            jobs = await self.loft.db.submit(lambda conn: outbox.claim(
                conn, worker=self.name, limit=free, lease=lease, postgres=not self.loft.db.is_sqlite))
        except Exception as exc:  # try again on the next turn
            _failed(exc, "claiming jobs failed")
            return 0
        for job in jobs:
            task = asyncio.create_task(self._run(job))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return len(jobs)

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            await handler(self.loft, job)
        except Exception as exc:
            _failed(exc, "job %s (%s %s) failed, attempt %d", job.id, job.kind, job.subject_sid, job.attempts)
            await self._give_back(job)
        finally:
            self.loft.wake()

    async def _give_back(self, job: Job) -> None:
        try:
            async with self.loft.db.write() as conn:
                if job.attempts < MAX_ATTEMPTS:
                    await outbox.postpone(conn, job, delay=timedelta(seconds=min(2 ** job.attempts, 300)))
                    return
                if job.kind == outbox.SEND:
                    message = await message_service.load(conn, job.subject_sid)
                    if message is not None and message.status in ("queued", "sending"):
                        await lifecycle.change(conn, message, "failed", error_code=30008)
                await outbox.complete(conn, job)
        except Exception as exc:
            _failed(exc, "could not give job %s back; its lease will expire", job.id)
