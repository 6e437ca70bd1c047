"""The outbound path of one message: claim → checks → ``sending`` → carrier → ``sent`` → delivery report.

This module is the simulator's path, and the checks every send makes; a send for a network carrier (its job
names it) goes on through :mod:`loft.delivery.handoff`. Each step is its own transaction, and the hand-off to
the simulator commits with the ``sent`` status, so a crash at any point neither loses the message nor hands it
over twice. A message with nothing to fetch (no media) goes from ``queued`` to ``sent`` in one transaction; one
created through a process whose worker has room goes to the simulator in its create's own transaction, stored
in the status it reaches (:func:`create_many`), and only its status callbacks are left for that worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Row

from loft.accounts import auth
from loft.accounts.service import Account
from loft.context import Loft
from loft.db.engine import Conn
from loft.db.prepared import Record
from loft.delivery import lifecycle, outbox, selection
from loft.delivery.carriers import sim
from loft.delivery.carriers.base import LocalCarrier, Predicted
from loft.delivery.outbox import Job
from loft.kit import dates, phone
from loft.messages import intake, media, optout
from loft.messages import service as message_service


def _send(message: Record) -> optout.Send:
    return message.from_addr, message.to_addr, message.messaging_service_sid


async def _opted_out(conn: Conn, messages: Iterable[Record]) -> set[optout.Send]:
    """The sends (sender, recipient, service) of ``messages`` about to leave (``queued``) that are opted out, of
    the sender or of its Messaging Service (auto-replies leave whatever the opt-outs)."""
    return await optout.opted_out(conn, [_send(message) for message in messages
                                         if message.status == "queued" and not message.options.get("auto_reply")])


def _refused(message: Row[Any], account: Account | None, opted_out: set[optout.Send]) -> int | None:
    """An error code if the message must fail before it leaves, else None; ``opted_out``: the sends that are
    opted out (:func:`_opted_out`). A send is matched with its service: a sender's message to a phone that opted
    out of a service leaves when it goes through no service (or another), even beside one through it."""
    age = dates.now() - dates.as_utc(message.date_created)
    if "send_at" in message.options:  # scheduled: valid from the moment it was to leave
        age = dates.now() - datetime.fromisoformat(message.options["send_at"])
    if age > timedelta(seconds=message.validity_period):
        return 30036
    if account is None or account.status != "active":
        return 30002
    if not message.options.get("auto_reply") and _send(message) in opted_out:
        return 21610
    return None


async def handle_send(loft: Loft, job: Job, *, lease: outbox.Lease | None = None) -> Job | None:
    """Send the job's message, claimed (:func:`start_claimed`). With ``lease`` (the worker's), the status
    callbacks of a message handed over in the send's transaction are recorded under it, and their job returned
    for the worker to run at once: no claim, no update of their row."""
    # Read as authentication reads it (a suspension made through this process applies at once, one made
    # through another within the credential cache's second), and outside the write transaction.
    account = await auth.lookup(loft, job.account_sid)
    if job.carrier is not None:
        from loft.delivery import handoff

        await handoff.send_to(loft, job, account)
        return None
    message = await loft.db.submit_item(start_claimed, Claimed(loft, job, account, lease))
    if message is None or isinstance(message, Job):
        return message
    fetched = await media.fetch_outbound(loft, message)
    async with loft.db.write() as conn:
        if not await outbox.complete_claimed(conn, [job]):
            return None  # its lease ran out meanwhile and another worker took the send over: the other's now
        message = await message_service.load(conn, job.subject_sid)
        if message is None or message.status != "sending":
            return None
        if isinstance(fetched, int):
            await lifecycle.change(conn, message, "failed", error_code=fetched, expected="sending")
        else:
            await _hand_over(loft, conn, message, fetched)
    return None


async def _choose(conn: Conn, job: Job, message: Record, account: Account | None,
                  rates: Mapping[str, float]) -> selection.Assigned | None:
    """A send through a Messaging Service, due: its checks, then its sender (:func:`selection.assign`). None when
    the job is done (it failed: recorded) or put back until its sender's slot (its ``queued`` announced)."""
    refusal = _refused(message, account, set())
    assigned = None if refusal is not None else await selection.assign(conn, message, rates=rates,
                                                                        carrier=job.carrier)
    if refusal is not None:
        await lifecycle.change(conn, message, "failed", error_code=refusal, expected=message.status)
    if assigned is None:
        await outbox.complete(conn, job)
        return None
    if assigned.leaves_at > dates.now():
        if assigned.event is not None:
            await lifecycle.announce_all(conn, assigned.message, [assigned.event])
        await outbox.defer(conn, job, delay=assigned.leaves_at - dates.now())
        return None
    return assigned


class _Handled:
    """What :func:`_vet` answers for a send whose job it finished or put back itself."""


HANDLED = _Handled()


async def _vet(conn: Conn, job: Job, message: Record | None, account: Account | None,
               opted_out: set[optout.Send], rates: Mapping[str, float],
               first: dict[str, lifecycle.Event] | None = None) -> Record | None | _Handled:
    """The checks of a claimed send, its sender chosen first when it goes through a Messaging Service: the message
    if it may leave (``queued``, or ``sending`` while its media is fetched); None when its job is done (the
    message is gone, left already, or failed a check, which is recorded); :data:`HANDLED` when the service's
    choice finished the job or put it back until its sender's slot. The ``queued`` of a sender chosen here is
    announced at once, or kept in ``first`` (by SID) for the callbacks of a hand-over in the same transaction.
    (A chosen sender's opt-outs are the choice's to check: ``opted_out`` was read before there was a sender.)"""
    chosen_here = message is not None and message.status in selection.CHOOSING
    if message is not None and chosen_here:
        chosen = await _choose(conn, job, message, account, rates)
        if chosen is None:
            return HANDLED
        message = chosen.message
        if chosen.event is not None:
            if first is None or message.num_media:
                await lifecycle.announce_all(conn, message, [chosen.event])
            else:
                first[message.sid] = chosen.event
    if message is None or message.status not in ("queued", "sending"):
        return None
    if message.status == "queued":
        refusal = _refused(message, account, opted_out)
        if refusal is None and not chosen_here and message.from_addr.startswith(phone.RCS_PREFIX) and not (
                job.carrier is None and await sim.reaches_rcs(conn, message.account_sid, message.to_addr)):
            refusal = selection.NOT_RCS_CAPABLE  # from an RCS sender: over RCS only (a service's choice checked)
        if refusal is not None:
            await lifecycle.change(conn, message, "failed", error_code=refusal)
            return None
    return message


async def checked(conn: Conn, job: Job, account: Account | None, rates: Mapping[str, float]) -> Record | None:
    """The checks a send makes before it leaves, in its first transaction (:func:`_vet`, for one send): the
    message if it may leave, else None (its job is done, or put back until its sender's slot)."""
    message = await message_service.load(conn, job.subject_sid)
    vetted = await _vet(conn, job, message, account, await _opted_out(conn, [message] if message else []), rates)
    if vetted is None:
        await outbox.complete(conn, job)
    return None if isinstance(vetted, _Handled) else vetted


@dataclass(frozen=True, slots=True)
class Claimed:
    """A send claimed from the outbox (for the simulator), with its account, and the lease under which its status
    callbacks are recorded for the same worker (None: for any worker to claim)."""

    loft: Loft
    job: Job
    account: Account | None
    lease: outbox.Lease | None = None


async def start_claimed(conn: Conn, sends: list[Claimed]) -> list[Record | Job | None | Exception]:
    """The first transaction of claimed sends, for many at once (one read of their messages, one hand-over):
    for each, the checks (:func:`_vet`), then the hand-over itself when there is no media to fetch first (the
    job is done: None, or the job of its status callbacks when they were recorded under the send's lease), else
    ``sending`` (the message, whose media is to be fetched). A message that moved meanwhile (another worker's
    hand-over) raises :class:`lifecycle.Superseded`, and the batch runs again one send at a time
    (:meth:`loft.db.postgres.PostgresDatabase.submit_item`), where only that one fails."""
    found = await message_service.load_many(conn, [send.job.subject_sid for send in sends])
    opted_out = await _opted_out(conn, found.values())
    results: list[Record | Job | None | Exception] = []
    finished: list[Job] = []
    leaving: list[Record] = []
    handing: dict[str, int] = {}  # a message handed over in this transaction → its send's place in the results
    first: dict[str, lifecycle.Event] = {}  # queued, announced first with the events of the hand-over
    for send in sends:
        message = await _vet(conn, send.job, found.get(send.job.subject_sid), send.account, opted_out,
                             send.loft.settings.rates, first)
        if message is None or isinstance(message, _Handled):
            if message is None:
                finished.append(send.job)
            results.append(None)
            continue
        if message.status == "queued":
            if not message.num_media:
                # Nothing to wait for outside the database: hand over in this same transaction
                # (``sending`` would be seen by nobody, and is silent anyway).
                leaving.append(message)
                finished.append(send.job)
                handing[message.sid] = len(results)
                results.append(None)
                continue
            await lifecycle.change(conn, message, "sending")
        results.append(message)
    if leaving:
        receipts = await sends[0].loft.carriers.sim.hand_over_in(conn, [(message, ()) for message in leaving])
        callbacks = await _handed_over(conn, list(zip(leaving, receipts)), lease=_one_lease(sends), first=first)
        for sid, job in callbacks.items():
            results[handing[sid]] = job
    await outbox.complete_all(conn, finished)
    return results


def _one_lease(sends: list[Claimed]) -> outbox.Lease | None:
    """The lease to record a batch's status callbacks under: their worker's when one worker sent them all (sends
    of several workers of one process: None, for any worker to claim)."""
    workers = {send.lease.worker if send.lease else None for send in sends}
    return sends[0].lease if len(workers) == 1 else None


@dataclass(slots=True)
class Creating:
    """A send to create (:func:`create_many`) through this process's Loft, whose simulator its create may hand it
    to. A value, never changed once made; not ``frozen``, which would set its fields through
    ``object.__setattr__`` at every create."""

    loft: Loft
    draft: message_service.Draft


async def create_many(conn: Conn, sends: list[Creating]) -> list[message_service.Created | Exception]:
    """:func:`loft.messages.service.create_many`, the sends that leave at once for the simulator handed over in the
    create's own transaction (:func:`hand_over_new`)."""
    simulator = sends[0].loft.carriers.sim
    return await message_service.create_many(conn, [send.draft for send in sends],
                                             hand_over=partial(hand_over_new, simulator))


async def hand_over_new(simulator: LocalCarrier, conn: Conn, created: list[Record], lease: outbox.Lease
                        ) -> tuple[list[dict[str, Any]], dict[str, Job]]:
    """Sends about to be stored ``queued`` (``created``: their records as they would read), given to the simulator
    in the transaction that stores them: what each is stored with instead (``sent``, or, for a delivery report
    due at once as by default, its final status: the columns a worker's hand-over changes, :func:`_handed_over`),
    so that it is written once, in its final state, with no job of its own to claim and complete and no update.
    Their status callbacks (``sent``, then the report's) are recorded under ``lease`` (their worker's), and
    returned by message SID for it to run once this commits; should it die first, the lease runs out and any
    worker takes them over. A report due later is recorded as a worker's hand-over records it."""
    receipts = await simulator.hand_over_in(conn, [(message, ()) for message in created])
    moment = dates.now()
    dlr = intake.dlr_date(moment)
    stored: list[dict[str, Any]] = []
    announced: list[tuple[Record, list[lifecycle.Event]]] = []
    later: list[outbox.NewJob] = []
    for message, receipt in zip(created, receipts):
        status: str
        announces = lifecycle.may_announce(message)
        if receipt is not None and receipt.delay_ms <= 0:
            status, error_code = receipt.outcome, receipt.error_code
            if announces:
                announced.append((message, _reported_at_once(message, receipt, dlr)))
        else:
            status, error_code = "sent", None
            if announces:
                announced.append((message, [event for event in [lifecycle.event(message, "sent")] if event]))
            if receipt is not None:
                later.append(_report_later(message, receipt, moment))
        stored.append({**lifecycle.columns(status, error_code=error_code, moment=moment, date_sent=moment),
                       **lifecycle.erased(message, status)})
    if later:
        await outbox.enqueue_all(conn, later)
    return stored, await lifecycle.announce_many(conn, announced, lease=lease)


async def _hand_over(loft: Loft, conn: Conn, message: Row[Any], media_urls: list[str]) -> None:
    """Give the message to the simulator and record ``sent`` (and the delivery report to come)."""
    receipt = (await loft.carriers.sim.hand_over_in(conn, [(message, media_urls)]))[0]
    await _handed_over(conn, [(message, receipt)])


async def _handed_over(conn: Conn, sent: list[tuple[Row[Any], Predicted | None]], *,
                       lease: outbox.Lease | None = None,
                       first: Mapping[str, lifecycle.Event] | None = None) -> dict[str, Job]:
    """Record that the carrier has these messages: ``sent`` and the delivery report to come, or, for a report due
    at once (the simulator's default), the final status in the same transaction: one update from ``queued`` (or
    ``sending``) to it, for all of them, and both callbacks of each in one job, which sends ``sent`` first. Each
    change is made from the status the message was read in (:class:`lifecycle.Superseded` if it had moved).
    ``first``: by message SID, an event not recorded yet that the callbacks announce before these (``queued``,
    when a service's sender was chosen in this transaction)."""
    first = first or {}
    moment = dates.now()
    at_once = [(message, receipt) for message, receipt in sent if receipt is not None and receipt.delay_ms <= 0]
    await lifecycle.change_many(conn, [(message, receipt.outcome, receipt.error_code)
                                       for message, receipt in at_once], moment=moment, date_sent=moment)
    dlr = intake.dlr_date(moment)
    callbacks = await lifecycle.announce_many(conn, [(message, [
        event for event in [first.get(message.sid), *_reported_at_once(message, receipt, dlr)] if event is not None
    ]) for message, receipt in at_once], lease=lease)
    later = []
    for message, receipt in sent:
        if receipt is not None and receipt.delay_ms <= 0:
            continue
        announced = await lifecycle.change(conn, message, "sent", moment=moment, date_sent=moment,
                                           expected=message.status, announce=False)
        await lifecycle.announce_all(conn, message, [event for event in (first.get(message.sid), announced) if event])
        if receipt is not None:
            later.append(_report_later(message, receipt, moment))
    if later:
        await outbox.enqueue_all(conn, later)
    return callbacks


def _reported_at_once(message: Row[Any], receipt: Predicted, dlr: str) -> list[lifecycle.Event]:
    """The status callbacks of a message handed to the simulator whose delivery report came at once: ``sent``,
    then the report's status (DLR date ``dlr``), to be sent by one job in that order."""
    return [event for event in (
        lifecycle.event(message, "sent"),
        lifecycle.event(message, receipt.outcome, error_code=receipt.error_code, raw_dlr_done_date=dlr),
    ) if event is not None]


def _report_later(message: Row[Any], receipt: Predicted, moment: datetime) -> outbox.NewJob:
    """The job of the simulator's delivery report for ``message``, due the handset's delay after ``moment``."""
    return outbox.NewJob(outbox.RECEIPT, message.sid, message.account_sid,
                         at=moment + timedelta(milliseconds=receipt.delay_ms),
                         payload={"outcome": receipt.outcome, "error_code": receipt.error_code})


async def handle_receipt(loft: Loft, job: Job) -> None:
    """The simulator's delivery report, due after the handset's delay."""
    await loft.db.submit(lambda conn: _apply_receipt(conn, job))


async def _apply_receipt(conn: Conn, job: Job) -> None:
    message = await message_service.load(conn, job.subject_sid)
    if message is not None and message.status == "sent":
        await intake.settle(conn, message, job.payload["outcome"], error_code=job.payload.get("error_code"))
    await outbox.complete(conn, job)
