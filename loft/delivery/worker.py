"""The worker: claims due outbox jobs and runs them, a bounded number at a time.

It runs inside ``loft serve``, in the ``loft worker`` processes that ``loft serve`` starts (both woken at once
after the API commits new work: see :mod:`loft.processes`), or in ``loft worker`` processes started
by hand (which poll, and on PostgreSQL are woken by notifications too: :mod:`loft.delivery.wakeups`). A job that raises is retried with exponential backoff and, after ``MAX_ATTEMPTS``, dropped — a
send job then fails its message with 30008 so that nothing stays queued forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Coroutine
from datetime import timedelta
from functools import partial
from typing import Any

from loft.context import Loft
from loft.db.outages import outage
from loft.db.prepared import Record
from loft.delivery import jobs, lifecycle, outbox, send, wakeups
from loft.delivery.carriers.plan import SIM
from loft.delivery.outbox import Job
from loft.kit import dates
from loft.messages import service as message_service

log = logging.getLogger("loft.worker")

MAX_ATTEMPTS = 8
#: Seconds at most between two claims while the database is unavailable (from the poll interval, doubling).
OUTAGE_BACKOFF_MAX = 5.0


def _failed(loft: Loft, exc: BaseException, message: str, *args: object) -> bool:
    """Log a failure with its traceback when unexpected; when the database is only unavailable, tell its health
    instead, which logs the outage in a few lines (every job and every claim would repeat the same traceback).
    True in that case."""
    unavailable = outage(exc, writing=True)
    if unavailable is None:
        log.error(message, *args, exc_info=exc)
        return False
    loft.db.health.failed(unavailable)
    return True


class Worker:
    """Runs jobs: those it claims from the outbox, and sends handed to it in memory by the API of its process.

    A send created in the process of an in-process worker with room to spare is recorded already claimed by it
    (:meth:`lease`), and handed over once committed (:meth:`take`): it starts at once, with no claim and no read
    of the message. Should the process die first, the lease runs out and any worker takes the job over, as it
    would a claimed job of a dead worker. The status callbacks of such a send are recorded the same way, under a
    lease of this worker in the send's transaction, and run in the send's slot once it commits: no claim, and
    no update of their row (:func:`loft.delivery.send.send_handed`).
    """

    def __init__(self, loft: Loft) -> None:
        self.loft = loft
        self.concurrency = loft.settings.worker_concurrency
        self.poll_interval = loft.settings.worker_poll_seconds
        self.lease_for = timedelta(seconds=loft.settings.job_lease_seconds)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._batch = max(1, self.concurrency // 8)
        self._running: set[asyncio.Task[None]] = set()
        self._handed: deque[tuple[Job, Record]] = deque()
        self._handed_in = asyncio.Event()
        self._sending = 0  # handed sends submitted straight to the database, not back yet
        self._more_due = True  # the last claim took all it could: more jobs may be waiting in the outbox
        self._accepting = False  # hands sends over (while it runs)
        self._holding: dict[int, Job] = {}  # running jobs whose claims keep_claims renews
        self._backoff = 0.0  # seconds to wait before the next claim, while the database is unavailable
        self._next_takeover = 0.0  # when the next claim also takes over jobs whose lease ran out (monotonic)

    def lease(self, to: str) -> outbox.Lease | None:
        """A lease for a send to ``to`` about to be created, if this worker is running and has room to take it
        over, and the simulator takes it (a send handed over is one transaction; a network carrier's is not)."""
        if not self._accepting or len(self._handed) >= self.concurrency or self.loft.carriers.route(to) != SIM:
            return None  # it would wait: leave it in the outbox for whichever worker is free first
        return self._lease()

    def take(self, job: Job, message: Record) -> None:
        """Run ``job`` (a send leased by :meth:`lease`, committed) for ``message``, as soon as a slot is free."""
        self._handed.append((job, message))
        self._handed_in.set()

    async def run(self, stop: asyncio.Event) -> None:
        from loft.messages.intake import Intake

        await self.loft.carriers.start(self.loft, Intake(self.loft))
        # On PostgreSQL, other processes' new sends wake it (LISTEN/NOTIFY), not only the poll.
        listening = None if self.loft.db.is_sqlite else asyncio.create_task(wakeups.listen(self.loft))
        try:
            await self._run_until(stop)
        finally:
            if listening is not None:
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)  # it takes its worker off the list
            await self.loft.carriers.stop()

    async def _run_until(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        renewing = asyncio.create_task(self._keep_claims())
        self._accepting = True
        try:
            while not stop.is_set():
                if self.loft.work_ready.is_set():  # new work in the outbox (loft.wake()), or slots for more
                    self._more_due = True
                    self.loft.work_ready.clear()
                self._handed_in.clear()
                started = self._start_handed()
                if await self._claim() or started:
                    continue
                # The poll interval catches work that other processes recorded, and jobs that fall due.
                ready = asyncio.ensure_future(self.loft.work_ready.wait())
                handed = asyncio.ensure_future(self._handed_in.wait())
                done, _ = await asyncio.wait([stopping, ready, handed], timeout=self._backoff or self.poll_interval,
                                             return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                handed.cancel()
                if not done:
                    self._more_due = True
        finally:
            self._accepting = False
            stopping.cancel()
        await self._give_back_handed()
        try:
            for _ in range(300):  # sends submitted straight to the database are back within a group or two
                if not self._sending:
                    break
                await asyncio.sleep(0.1)
            if self._running:
                await asyncio.wait(self._running, timeout=30)
        finally:
            renewing.cancel()

    async def _keep_claims(self) -> None:
        """Renew the claims of the jobs running here every third of a lease, while they run: a job that takes
        longer than a lease (media from a slow server, an inbound reply session of many documents) is not taken
        over, and run a second time, by another worker while this one still runs it. A worker that dies renews
        nothing, and its jobs are taken over as before."""
        every = self.lease_for.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            held = list(self._holding.values())
            if not held:
                continue
            until = dates.real_now() + self.lease_for
            try:
                await self.loft.db.submit_single(lambda conn: outbox.renew(conn, self.name, held, until=until))
            except Exception as exc:  # the next turn tries again; a lease runs out only after three
                _failed(self.loft, exc, "renewing the claims of %d running jobs failed", len(held))

    def _start_handed(self) -> int:
        """Start the sends handed over, as far as slots allow: straight into the database's next group of writes
        when their account is at hand in the credential cache (no task of their own), else in a task that reads
        the account first."""
        started = 0
        while self._handed and self._busy() < self.concurrency:
            job, message = self._handed.popleft()
            account = self.loft.credentials.get(job.account_sid)
            if account is None:
                self._spawn(job, message)
            else:
                self._sending += 1
                sent = self.loft.db.submit_later(send.send_handed,
                                                 send.Handed(self.loft, job, message, account, self._lease()))
                sent.add_done_callback(partial(self._sent, job, outbox.recorded()))
            started += 1
        return started

    def _busy(self) -> int:
        return len(self._running) + self._sending

    def _lease(self) -> outbox.Lease:
        return outbox.Lease(self.name, dates.real_now() + self.lease_for)

    def _sent(self, job: Job, recorded: int, sent: asyncio.Future[Job | None]) -> None:
        self._sending -= 1
        failure = None if sent.cancelled() else sent.exception()
        if failure is not None and not isinstance(failure, lifecycle.Superseded):
            _failed(self.loft, failure, "job %s (%s %s) failed, attempt %d", job.id, job.kind, job.subject_sid,
                    job.attempts)
            self._track(self._give_back(job))
        elif failure is None and (callbacks := sent.result()) is not None:
            # Its status callbacks, recorded under this worker's lease: they take the send's slot at once.
            self._spawn(callbacks, None)
            return
        self._slot_freed(recorded)

    def _slot_freed(self, recorded: int) -> None:
        if outbox.recorded() != recorded:
            self._more_due = True  # it recorded jobs (callbacks, receipts, retries): claim them
        if self._more_due:
            self.loft.wake()  # a slot is free for them
        elif self._handed:
            self._handed_in.set()

    async def _claim(self) -> int:
        free = self.concurrency - self._busy()
        if free <= 0 or (self._running and free < self._batch):
            return 0  # busy: claim when a batch of slots is free, in one transaction rather than one each
        if not self._more_due:
            return 0  # the outbox had nothing more the last time, and nothing was recorded since
        # Jobs whose lease ran out (their worker died) are looked for once per poll interval at most: that look
        # goes through every job held meanwhile, where a claim of the others reads them alone (outbox.claim).
        takeover = time.monotonic() >= self._next_takeover
        try:
            self._more_due = False  # from here on, what is recorded wakes the worker again
            jobs = await self.loft.db.submit_single(lambda conn: outbox.claim(
                conn, worker=self.name, limit=free, lease=self.lease_for, postgres=not self.loft.db.is_sqlite,
                claims=self.loft.carriers.claims(), takeover=takeover))
        except Exception as exc:  # try again on the next turn; later and later while the database is unavailable
            self._more_due = True
            if _failed(self.loft, exc, "claiming jobs failed"):
                self._backoff = min(max(2 * self._backoff, self.poll_interval), OUTAGE_BACKOFF_MAX)
            return 0
        self._backoff = 0.0
        if takeover:
            self._next_takeover = time.monotonic() + self.poll_interval
        if len(jobs) == free:
            self._more_due = True
        for job in jobs:
            self._spawn(job, None)
        return len(jobs)

    def _spawn(self, job: Job, message: Record | None) -> None:
        self._track(self._run(job, message))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in a task that holds a slot until it ends."""
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, job: Job, message: Record | None) -> None:
        recorded = outbox.recorded()
        self._holding[job.id] = job
        callbacks = None
        try:
            if message is not None or job.kind == outbox.SEND:  # handed over in memory, or claimed
                callbacks = await send.handle_send(self.loft, job, message, lease=self._lease())
            else:
                handler = jobs.handler(job.kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                await handler(self.loft, job)
        except Exception as exc:
            _failed(self.loft, exc, "job %s (%s %s) failed, attempt %d", job.id, job.kind, job.subject_sid,
                    job.attempts)
            await self._give_back(job)
        finally:
            self._holding.pop(job.id, None)
            if callbacks is None:
                self._slot_freed(recorded)
        if callbacks is not None:  # its status callbacks, recorded under this worker's lease: in the same slot
            await self._run(callbacks, None)

    async def _give_back_handed(self) -> None:
        """Stopping: the handed-over sends not started yet are left to whichever worker claims them next."""
        jobs = [job for job, _ in self._handed]
        self._handed.clear()
        if not jobs:
            return
        try:
            await self.loft.db.submit(lambda conn: outbox.release(conn, jobs))
        except Exception as exc:
            _failed(self.loft, exc, "could not give back %d jobs; their leases will expire", len(jobs))

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
            _failed(self.loft, exc, "could not give job %s back; its lease will expire", job.id)
