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
from datetime import UTC, datetime, timedelta
from typing import Any

from loft.context import Loft
from loft.db.outages import outage
from loft.delivery import jobs, lifecycle, outbox, send, wakeups
from loft.delivery.carriers.plan import SIM
from loft.delivery.outbox import Job
from loft.kit import dates
from loft.messages import service as message_service

log = logging.getLogger("loft.worker")

MAX_ATTEMPTS = 8
#: Seconds during which the creates that a worker lends a lease to share one (:meth:`Worker.lease`).
LEASE_SHARED_FOR = 0.01
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
    """Runs jobs: those it claims from the outbox, and those recorded under its lease by its own process.

    A send created in the process of an in-process worker with room to spare is handed to the simulator by its
    create, in the same transaction (:meth:`lease`, :func:`loft.delivery.send.create_many`); its status callbacks
    are recorded under a lease of this worker, which runs them once committed (:meth:`take`): no claim, and no
    update of their row. Should the process die first, the lease runs out and any worker takes the job over, as
    it would a claimed job of a dead worker. The status callbacks of a send this worker hands over itself are
    recorded the same way, and run in the send's slot.
    """

    def __init__(self, loft: Loft) -> None:
        self.loft = loft
        self.concurrency = loft.settings.worker_concurrency
        self.poll_interval = loft.settings.worker_poll_seconds
        self.lease_for = timedelta(seconds=loft.settings.job_lease_seconds)
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._batch = max(1, self.concurrency // 8)
        self._running: set[asyncio.Task[None]] = set()
        self._handed: deque[Job] = deque()
        self._handed_in = asyncio.Event()
        #: Set when a job of this process falls due before the others noted (outbox.watch): the wait is shortened.
        self._due_sooner = asyncio.Event()
        self._claimed_up_to = datetime.min.replace(tzinfo=UTC)  # the moment of the last claim's look
        self._more_due = True  # the last claim took all it could: more jobs may be waiting in the outbox
        self._accepting = False  # hands sends over (while it runs)
        self._holding: dict[int, Job] = {}  # running jobs whose claims keep_claims renews
        self._backoff = 0.0  # seconds to wait before the next claim, while the database is unavailable
        self._next_takeover = 0.0  # when the next claim also takes over jobs whose lease ran out (monotonic)
        #: The lease last lent to a create (:meth:`lease`), and when (monotonic).
        self._lent: tuple[float, outbox.Lease | None] = (0.0, None)
        self._started = 0  # jobs started so far (claimed or handed over)

    def lease(self, to: str) -> outbox.Lease | None:
        """A lease for the status callbacks of a send to ``to`` about to be created and handed over by its create,
        if this worker is running and has room to run them, and the simulator takes the send (a send handed over
        is one transaction; a network carrier's is not)."""
        if not self._accepting or len(self._handed) >= self.concurrency or self.loft.carriers.route(to) != SIM:
            return None  # it would wait: leave it in the outbox for whichever worker is free first
        # The creates of a few milliseconds share one lease (it is theirs a few milliseconds less): a lease is a
        # clock read and an object, for every create.
        now = time.monotonic()
        lent_at, lease = self._lent
        if lease is None or now - lent_at > LEASE_SHARED_FOR:
            lease = self._lease()
            self._lent = (now, lease)
        return lease

    def take(self, job: Job) -> None:
        """Run ``job`` (recorded under a lease of :meth:`lease`, committed) as soon as a slot is free."""
        self._handed.append(job)
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
        vacuuming = (asyncio.create_task(self._vacuum_outbox(self.loft.settings.outbox_vacuum_seconds))
                     if not self.loft.db.is_sqlite and self.loft.settings.outbox_vacuum_seconds else None)
        self._accepting = True
        unwatch = outbox.watch(self._due_sooner.set)
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
                self._due_sooner.clear()
                sooner = asyncio.ensure_future(self._due_sooner.wait())
                done, _ = await asyncio.wait([stopping, ready, handed, sooner],
                                             timeout=self._backoff or self._idle_wait(),
                                             return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                handed.cancel()
                sooner.cancel()
                if not done:
                    self._more_due = True  # (a job recorded sooner only has it wait again, less)
        finally:
            self._accepting = False
            unwatch()
            stopping.cancel()
        await self._give_back_handed()
        try:
            if self._running:
                await asyncio.wait(self._running, timeout=30)
        finally:
            renewing.cancel()
            if vacuuming is not None:
                vacuuming.cancel()

    def _idle_wait(self) -> float:
        """How long to wait for a wake-up with nothing to do: the poll interval, or less if a job this process
        recorded falls due sooner (:func:`outbox.soonest`), or is due already and no claim has looked since."""
        soonest = outbox.soonest(self._claimed_up_to)
        if soonest is None:
            return self.poll_interval
        return min(self.poll_interval, max((soonest - dates.now()).total_seconds(), 0.001))

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

    async def _vacuum_outbox(self, every: float) -> None:
        """PostgreSQL: ``VACUUM`` the outbox every ``every`` seconds while this worker starts jobs
        (:func:`outbox.vacuum`): not while it is idle, when the table has no new dead rows to clear; not when
        another worker's (or autovacuum's) is under way or ended within ``every`` seconds (the table needs one,
        not one per worker); and never under a role that may not (said once, in the log: PostgreSQL would write
        a warning each time)."""
        vacuumed_at = self._started
        allowed: bool | None = None
        while True:
            await asyncio.sleep(every)
            if self._started == vacuumed_at:
                continue
            vacuumed_at = self._started
            try:
                if allowed is None:
                    async with self.loft.db.read_single() as conn:
                        allowed = await outbox.may_vacuum(conn)
                    if not allowed:
                        log.info("this database role may not vacuum the outbox table (not its owner): leaving it "
                                 "to autovacuum (LOFT_OUTBOX_VACUUM_SECONDS, docs/deployment.md)")
                        return
                async with self.loft.db.read_single() as conn:
                    due = await outbox.vacuum_due(conn, every)
                if due:
                    await self.loft.db.submit_single(outbox.vacuum)
            except Exception as exc:  # the next turn tries again; autovacuum does the work meanwhile
                _failed(self.loft, exc, "vacuuming the outbox failed")

    def _start_handed(self) -> int:
        """Start the jobs handed over, as far as slots allow."""
        started = 0
        while self._handed and len(self._running) < self.concurrency:
            self._spawn(self._handed.popleft())
            started += 1
        return started

    def _lease(self) -> outbox.Lease:
        return outbox.Lease(self.name, dates.real_now() + self.lease_for)

    def _slot_freed(self, recorded: int) -> None:
        if outbox.recorded() != recorded:
            self._more_due = True  # it recorded jobs (callbacks, receipts, retries): claim them
        if self._more_due:
            self.loft.wake()  # a slot is free for them
        elif self._handed:
            self._handed_in.set()

    async def _claim(self) -> int:
        free = self.concurrency - len(self._running)
        if free <= 0 or (self._running and free < self._batch):
            return 0  # busy: claim when a batch of slots is free, in one transaction rather than one each
        if not self._more_due:
            return 0  # the outbox had nothing more the last time, and nothing was recorded since
        # Jobs whose lease ran out (their worker died) are looked for once per poll interval at most: that look
        # goes through every job held meanwhile, where a claim of the others reads them alone (outbox.claim).
        takeover = time.monotonic() >= self._next_takeover
        try:
            self._more_due = False  # from here on, what is recorded wakes the worker again
            looked = dates.now()  # (the claim sees every job due by then)
            jobs = await self.loft.db.submit_single(lambda conn: outbox.claim(
                conn, worker=self.name, limit=free, lease=self.lease_for, postgres=not self.loft.db.is_sqlite,
                claims=self.loft.carriers.claims(), takeover=takeover))
        except Exception as exc:  # try again on the next turn; later and later while the database is unavailable
            self._more_due = True
            if _failed(self.loft, exc, "claiming jobs failed"):
                self._backoff = min(max(2 * self._backoff, self.poll_interval), OUTAGE_BACKOFF_MAX)
            return 0
        self._backoff = 0.0
        self._claimed_up_to = looked
        if takeover:
            self._next_takeover = time.monotonic() + self.poll_interval
        if len(jobs) == free:
            self._more_due = True
        for job in jobs:
            self._spawn(job)
        return len(jobs)

    def _spawn(self, job: Job) -> None:
        self._started += 1
        self._track(self._run(job))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in a task that holds a slot until it ends."""
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, job: Job) -> None:
        recorded = outbox.recorded()
        self._holding[job.id] = job
        callbacks = None
        try:
            if job.kind == outbox.SEND:
                callbacks = await send.handle_send(self.loft, job, lease=self._lease())
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
            await self._run(callbacks)

    async def _give_back_handed(self) -> None:
        """Stopping: the jobs handed over and not started yet are left to whichever worker claims them next."""
        jobs = list(self._handed)
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
