"""The transactional outbox: work recorded in the same transaction as the write it follows.

Jobs are claimed with a lease. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``, so any number of
workers share the table without handing a job to two of them; on SQLite the single writer lock does the same.
A worker that dies leaves its claims to expire; another worker then takes them over.

Two clocks: a job falls due at ``available_at`` by Loft's clock (:func:`loft.kit.dates.now`, which the simulator's
clock moves ahead: a delayed delivery report is due once the clock is advanced past it), and a claim lasts until
``claimed_until`` by the wall clock (:func:`loft.kit.dates.real_now`: an advance must not take running jobs from
a live worker). See :mod:`loft.sim.clock`.

A send for a network carrier names it (``carrier``): only a process that runs that carrier claims it (see
:class:`Claims`), so the connection to it (an SMPP bind) lives in one process, not in every process that
answers the API. Kinds and their handlers: :mod:`loft.delivery.jobs`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, bindparam, column, delete, insert, or_, select, text, update

from loft.db.engine import Conn
from loft.db.prepared import Prepared, among, list_length, values_of
from loft.db.tables import outbox
from loft.kit import dates

SEND = "send"
#: The simulator's delivery report, due after the handset's delay.
RECEIPT = "receipt"
#: A network carrier's delivery report that named a reference not recorded yet (it overtook its hand-off's record).
REPORT = "report"
CALLBACK = "callback"
INBOUND = "inbound"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    subject_sid: str
    account_sid: str
    payload: Mapping[str, Any]
    attempts: int
    #: The worker whose claim this is (None: not claimed).
    claimed_by: str | None = None
    #: The network carrier that must run it (None: any worker, the simulator's sends included).
    carrier: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim recorded with the job itself: ``worker`` has it until ``until``, by the wall clock (see
    :func:`enqueue`)."""

    worker: str
    until: datetime


#: Dead rows of the outbox made reusable, and its size in PostgreSQL's statistics made the current one (see
#: :func:`vacuum`).
_VACUUM = Prepared(text("VACUUM outbox"))
#: Whether the outbox is due for a ``VACUUM``: none under way (another worker's, or autovacuum's) and none ended
#: in the last ``seconds``. ``VACUUM`` takes a lock that another ``VACUUM`` of the table waits for, and with
#: ``SKIP_LOCKED`` it writes a warning to PostgreSQL's log instead: the workers of many processes look first.
_VACUUM_DUE = Prepared(text(
    "SELECT NOT EXISTS (SELECT FROM pg_stat_progress_vacuum WHERE relid = 'outbox'::regclass) "
    "AND coalesce(greatest(last_vacuum, last_autovacuum), '-infinity') < now() - make_interval(secs => :seconds) "
    "FROM pg_stat_user_tables WHERE relid = 'outbox'::regclass").columns(column("due", Boolean)))
#: Whether this connection's role may ``VACUUM`` the outbox: PostgreSQL 15 lets the table's owner, the database's
#: owner and superusers do it, and skips it for others with a warning in its log.
_MAY_VACUUM = Prepared(text(
    "SELECT pg_has_role(c.relowner, 'MEMBER') OR pg_has_role(d.datdba, 'MEMBER') OR r.rolsuper "
    "FROM pg_class c, pg_database d, pg_roles r "
    "WHERE c.oid = 'outbox'::regclass AND d.datname = current_database() AND r.rolname = current_user")
    .columns(column("may", Boolean)))
_ENQUEUE_ROWS = Prepared(insert(outbox))
_COMPLETE = Prepared(delete(outbox).where(outbox.c.id == bindparam("job_id")))
#: Jobs this process has recorded for any worker to claim (a claim can skip a look at an outbox known empty).
_recorded = 0


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job for :func:`enqueue_rows`."""

    kind: str
    subject_sid: str
    account_sid: str
    at: datetime | None = None
    payload: Mapping[str, Any] | None = None
    lease: Lease | None = None
    carrier: str | None = None


_ENQUEUE_ALL = Prepared(insert(outbox).returning(outbox.c.id, outbox.c.subject_sid, outbox.c.kind))


async def enqueue(conn: Conn, kind: str, *, subject_sid: str, account_sid: str,
                  at: datetime | None = None, payload: Mapping[str, Any] | None = None,
                  lease: Lease | None = None, carrier: str | None = None) -> Job:
    """Record a job, for any worker to claim; with ``lease``, claimed already by that worker, which is then
    given the job in memory (``Worker.take``): if it dies first, the lease runs out and another takes over."""
    return (await enqueue_rows(conn, [NewJob(kind, subject_sid, account_sid, at, payload, lease, carrier)]))[0]


def _row(job: NewJob, moment: datetime) -> dict[str, Any]:
    """The outbox row of a new job (counted in :func:`recorded` when any worker may claim it)."""
    global _recorded
    if job.at is not None and job.at > moment:
        due_later(job.at, moment)
    row: dict[str, Any] = {"kind": job.kind, "subject_sid": job.subject_sid, "account_sid": job.account_sid,
                           "payload": dict(job.payload) if job.payload else None, "available_at": job.at or moment,
                           "attempts": 0, "claimed_by": None, "claimed_until": None, "date_created": moment,
                           "carrier": job.carrier}
    if job.lease is not None:
        row.update(attempts=1, claimed_by=job.lease.worker, claimed_until=job.lease.until)
    else:
        _recorded += 1
    return row


def recorded() -> int:
    """How many claimable jobs this process has recorded so far (committed or not)."""
    return _recorded


#: When this process's jobs due soon fall due (Loft's clock, a heap): a worker with nothing to do sleeps until the
#: first rather than a whole poll interval (a delivery report delayed 600 ms arrives after 600 ms, a paced sender's
#: next send leaves on its second). Only those due within :data:`SOON` are kept, at most :data:`SOON_KEPT`:
#: later ones are found by the poll, whose lateness is nothing beside theirs.
_due: list[datetime] = []
SOON = timedelta(seconds=60)
SOON_KEPT = 4096
#: Told when a noted job falls due before every other (the workers of this process, waiting: see :func:`watch`).
_watchers: list[Callable[[], None]] = []


def due_later(at: datetime, now: datetime) -> None:
    """Note a job of this process that falls due at ``at`` (committed or not: a rolled-back one only wakes a
    worker for nothing); if it is the first to, the waiting workers are told, to wait less."""
    if at - now <= SOON and len(_due) < SOON_KEPT:
        heapq.heappush(_due, at)
        if _due[0] == at:
            for told in _watchers:
                told()


def watch(told: Callable[[], None]) -> Callable[[], None]:
    """Have ``told`` called (on the event loop's thread, where jobs are recorded) whenever a job of this process
    falls due before the others noted; returns what stops it."""
    _watchers.append(told)
    return lambda: _watchers.remove(told)


def soonest(claimed: datetime) -> datetime | None:
    """When the first noted job falls due that a claim made at ``claimed`` could not see yet (those it could are
    forgotten: a claim made at a moment sees every job due by then), or None."""
    while _due and _due[0] <= claimed:
        heapq.heappop(_due)
    return _due[0] if _due else None


@dataclass(frozen=True, slots=True)
class Claims:
    """Which carriers' sends a worker claims, besides the jobs any worker runs: those of ``runs``, and with
    ``strays`` those naming a carrier that ``known`` does not hold (the carriers file changed since they were
    recorded: the send routes them again)."""

    runs: tuple[str, ...] = ()
    known: tuple[str, ...] = ()
    strays: bool = True

    def condition(self) -> Any:
        if self.strays and not self.known:
            return None  # every job (the simulator alone: no job names a carrier, or none that still exists)
        anyone = outbox.c.carrier.is_(None)
        parts = [anyone]
        if self.runs:
            parts.append(outbox.c.carrier.in_(self.runs))
        if self.strays:
            parts.append(outbox.c.carrier.not_in(self.known))
        return or_(*parts)


EVERYTHING = Claims()


def _claim_statement(*, skip_locked: bool, claims: Claims, takeover: bool = True) -> Any:
    """Claim up to ``limit`` due jobs, oldest first: those nobody holds, and with ``takeover`` those whose lease ran
    out too. Without it the statement reads the partial index ``ix_outbox_unclaimed``, which holds the unclaimed
    jobs only: its cost does not grow with the jobs that workers hold meanwhile (sends under way, callbacks
    recorded under a lease), which a takeover has to look through (``ix_outbox_available_at``)."""
    free = outbox.c.claimed_until.is_(None)
    due = (
        select(outbox.c.id)
        .where(outbox.c.available_at <= bindparam("moment"),
               or_(free, outbox.c.claimed_until < bindparam("real")) if takeover else free)
        .order_by(outbox.c.available_at, outbox.c.id)
        .limit(bindparam("limit"))
    )
    condition = claims.condition()
    if condition is not None:
        due = due.where(condition)
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(claimed_until=bindparam("until"), claimed_by=bindparam("worker"), attempts=outbox.c.attempts + 1)
        .returning(outbox.c.id, outbox.c.kind, outbox.c.subject_sid, outbox.c.account_sid,
                   outbox.c.payload, outbox.c.attempts, outbox.c.carrier)
    )


@lru_cache(maxsize=32)
def _claim(postgres: bool, claims: Claims, takeover: bool) -> Prepared:
    return Prepared(_claim_statement(skip_locked=postgres, claims=claims, takeover=takeover))


async def claim(conn: Conn, *, worker: str, limit: int, lease: timedelta, postgres: bool,
                claims: Claims = EVERYTHING, takeover: bool = True) -> list[Job]:
    """Claim due jobs for ``worker`` (see :func:`_claim_statement`); ``takeover``: those of expired leases too."""
    real = dates.real_now()
    parameters = {"moment": dates.now(), "limit": limit, "until": real + lease, "worker": worker}
    if takeover:
        parameters["real"] = real
    rows = (await conn.execute(_claim(postgres, claims, takeover), parameters)).all()
    return [Job(r.id, r.kind, r.subject_sid, r.account_sid, r.payload or {}, r.attempts, worker, r.carrier)
            for r in rows]


async def release(conn: Conn, jobs: list[Job]) -> None:
    """Give up the claims on ``jobs`` (not started): any worker may claim them again at once."""
    await conn.execute(
        update(outbox).where(outbox.c.id.in_([job.id for job in jobs]))
        .values(claimed_until=None, claimed_by=None, attempts=outbox.c.attempts - 1)
    )


async def enqueue_rows(conn: Conn, jobs: Sequence[NewJob]) -> list[Job]:
    """:func:`enqueue` for many jobs, in one statement; the jobs, in order (one per subject and kind)."""
    moment = dates.now()
    rows = [_row(job, moment) for job in jobs]
    returned = await conn.insert_rows(_ENQUEUE_ALL, rows)
    ids = {(row.subject_sid, row.kind): row.id for row in returned}
    return [Job(ids[job.subject_sid, job.kind], job.kind, job.subject_sid, job.account_sid, job.payload or {},
                row["attempts"], row["claimed_by"], job.carrier) for job, row in zip(jobs, rows)]


@lru_cache(maxsize=None)
def _complete_claimed(length: int) -> Prepared:
    return Prepared(delete(outbox).where(among(outbox.c.id, "job", length),
                                         outbox.c.claimed_by == bindparam("worker")).returning(outbox.c.id))


async def complete_claimed(conn: Conn, jobs: Sequence[Job]) -> set[int]:
    """Complete those of ``jobs`` that are still claimed by the worker that holds them; the ids of those. A job
    not among them is no longer its worker's (its lease ran out and another worker took it over, or finished
    it): the other's now, and this one must leave it."""
    completed: set[int] = set()
    for worker in {job.claimed_by for job in jobs}:
        ids = [job.id for job in jobs if job.claimed_by == worker]
        statement = _complete_claimed(list_length(len(ids)))
        found = await conn.execute(statement, {**values_of("job", ids), "worker": worker})
        completed.update(row.id for row in found.all())
    return completed


@lru_cache(maxsize=None)
def _renew(length: int) -> Prepared:
    return Prepared(update(outbox).where(among(outbox.c.id, "job", length),
                                         outbox.c.claimed_by == bindparam("worker"))
                    .values(claimed_until=bindparam("until")))


async def renew(conn: Conn, worker: str, jobs: Sequence[Job], *, until: datetime) -> None:
    """Extend ``worker``'s claims on those of ``jobs`` it still holds until ``until``."""
    ids = [job.id for job in jobs]
    await conn.execute(_renew(list_length(len(ids))), {**values_of("job", ids), "worker": worker, "until": until})


async def enqueue_many(conn: Conn, kind: str, jobs: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
    """Record jobs of one ``kind``, due now, for any worker to claim: (subject SID, account SID, payload) each."""
    await enqueue_all(conn, [NewJob(kind, subject, account, payload=payload) for subject, account, payload in jobs])


async def enqueue_all(conn: Conn, jobs: Sequence[NewJob]) -> None:
    """Record jobs for any worker to claim, in one statement (without reading their ids back: see
    :func:`enqueue_rows` for that)."""
    moment = dates.now()
    await conn.execute_many(_ENQUEUE_ROWS, [_row(job, moment) for job in jobs])


@lru_cache(maxsize=None)
def _complete_all(length: int) -> Prepared:
    return Prepared(delete(outbox).where(among(outbox.c.id, "job", length)))


async def complete_all(conn: Conn, jobs: Sequence[Job]) -> None:
    """:func:`complete` for many jobs, in one statement."""
    if jobs:
        ids = [job.id for job in jobs]
        await conn.execute(_complete_all(list_length(len(ids))), values_of("job", ids))


async def complete(conn: Conn, job: Job) -> None:
    await conn.execute(_COMPLETE, {"job_id": job.id})
    # (ids are never reused, so a worker that outlived its lease can only delete the job it was given)


async def postpone(conn: Conn, job: Job, *, delay: timedelta) -> None:
    now = dates.now()
    due_later(now + delay, now)
    await conn.execute(
        update(outbox).where(outbox.c.id == job.id)
        .values(available_at=now + delay, claimed_until=None, claimed_by=None)
    )


async def defer(conn: Conn, job: Job, *, delay: timedelta) -> None:
    """Run ``job`` again after ``delay`` without counting this run against its attempts (its carrier was not
    ready: throttled, its queue full, not connected)."""
    now = dates.now()
    due_later(now + delay, now)
    await conn.execute(update(outbox).where(outbox.c.id == job.id, outbox.c.claimed_by == job.claimed_by).values(
        available_at=now + delay, claimed_until=None, claimed_by=None, attempts=outbox.c.attempts - 1))


async def route_again(conn: Conn, job: Job, carrier: str | None) -> None:
    """Give ``job`` (a send) to ``carrier``'s processes (None: any worker's, for the simulator), due now, without
    counting this run against its attempts."""
    await conn.execute(update(outbox).where(outbox.c.id == job.id).values(
        carrier=carrier, available_at=dates.now(), claimed_until=None, claimed_by=None,
        attempts=outbox.c.attempts - 1))


async def vacuum(conn: Conn) -> None:
    """PostgreSQL: ``VACUUM`` the outbox, in no transaction (:meth:`loft.db.engine.Database.submit_single`).

    Every job leaves dead rows behind (its insert's, once completed; a claim's update), two or three per message,
    and autovacuum visits a table once a minute at most (``autovacuum_naptime``). Meanwhile the table grows with
    them, and a statement whose plan PostgreSQL made and kept while the table was small (a sequential scan: the
    deletion of completed jobs by their ids) reads every dead row, on every run. A ``VACUUM`` makes their room
    reusable, so the table stops growing, and records its size, so that such plans are made again (end to end
    over 30 s on this machine's bench: PostgreSQL's backends 0.118 ms per message without, 0.093 with a
    ``VACUUM`` every 2 s)."""
    await conn.execute(_VACUUM)


async def vacuum_due(conn: Conn, seconds: float) -> bool:
    """PostgreSQL: whether the outbox is due for a ``VACUUM`` (see :data:`_VACUUM_DUE`)."""
    return bool((await conn.execute(_VACUUM_DUE, {"seconds": seconds})).scalar())


async def may_vacuum(conn: Conn) -> bool:
    """PostgreSQL: whether :func:`vacuum` can do its work under this connection's role (see :data:`_MAY_VACUUM`)."""
    return bool((await conn.execute(_MAY_VACUUM)).scalar())
