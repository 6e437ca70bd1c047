"""An SMSC over SMPP 3.4, with Loft as the ESME (on smpp34: docs/carriers.md, "SMPP").

:class:`SmppCarrier` is a :class:`loft.delivery.carriers.base.Carrier`:

- **Binds.** One transceiver bind, or a transmitter and a receiver (``bind = "transmitter+receiver"``), each a
  :class:`.smpp_link.Link` that binds again after a lost connection or a refused bind, with one log line per
  change of state. ``up`` is True while the transmitting bind is bound: the hub claims the carrier's sends only
  then. A ``submit_sm`` not answered within ``response_seconds`` drops the bind (it is bound again).
- **Sending.** A body becomes its segments' parts (:mod:`.smpp_codec`), each one ``submit_sm`` with
  ``registered_delivery`` 1, through a window of ``window`` unanswered submits and, with ``throughput``, a token
  bucket of that many submits per second. Every part's ``message_id`` is a reference of the :class:`Accepted`.
  ESME_RTHROTTLED and ESME_RMSGQFUL pause the carrier's submits (a quarter of a second, doubling up to 2 s) and
  defer the message; a lost connection or an unanswered submit defers it too (the SMSC may have it: at least
  once); any other refusal fails it with the Twilio code of :data:`.smpp_codec.REFUSALS`. A long message whose
  later part is not taken is deferred (or failed) whole: its earlier parts go again with it.
- **What comes back.** The links pass every deliver_sm on as they read it, into one queue, and one task hands
  them to the intake: the receipts waiting at once as reports in one transaction (:func:`.smpp_codec.report_of`),
  mobile-originated messages, joined when in parts (:mod:`.smpp_mo`), as inbound messages. smpp34 has
  acknowledged each deliver_sm already, so a crash loses what waits in that queue: while more than
  :data:`INBOUND_HIGH` wait, no submit_sm is sent (each brings a receipt), which keeps the queue short.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import smpp34

from loft.delivery.carriers import smpp_codec as codec
from loft.delivery.carriers import smpp_mo
from loft.delivery.carriers.base import Accepted, Deferred, Incoming, Intake, Outgoing, Rejected, Report
from loft.delivery.carriers.plan import SmppSettings
from loft.delivery.carriers.smpp_link import Link, Mode

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.carriers.smpp")

#: How long the carrier's submits pause after a throttling answer: doubling from the first, up to the most.
THROTTLE_FIRST = 0.25
THROTTLE_MAX = 2.0
#: Seconds a stopping carrier gives the intake for what it acknowledged already.
STOP_SECONDS = 10.0
#: deliver_sm handed to the intake in one transaction, at most.
BATCH = 256
#: deliver_sm waiting for the intake past which no submit_sm is sent (smpp34 has acknowledged them: a crash loses
#: them), and the number they must fall to before submits go on.
INBOUND_HIGH = 32
INBOUND_LOW = 8
#: Deferred hand-overs come back after this many seconds when the carrier is not bound.
NOT_BOUND_RETRY = 1.0


class _Pace:
    """A token bucket: ``rate`` submits a second, ``rate`` of them (one at least) at once after a quiet spell."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self) -> None:
        async with self._lock:  # waiters queue up in order
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1


class SmppCarrier:
    """A network carrier behind an SMSC (see the module docstring)."""

    def __init__(self, name: str, settings: SmppSettings, loft: Loft) -> None:
        self.name = name
        self.settings = settings
        self.loft = loft
        modes: tuple[Mode, ...] = ("TRX",) if settings.bind == "transceiver" else ("TX", "RX")
        self._links = [Link(name, settings, mode, self.received) for mode in modes]
        self._sender = self._links[0]
        self._window = asyncio.Semaphore(settings.window)
        self._pace = _Pace(settings.throughput) if settings.throughput else None
        self._ref = random.randrange(1 << 16)
        self._pause = 0.0
        self._resume_at = 0.0
        #: deliver_sm read from the binds, waiting for the intake (None: the carrier stops).
        self.inbound: asyncio.Queue[smpp34.DeliverSmEvent | None] = asyncio.Queue()
        #: Set while few enough deliver_sm wait for the intake: submits wait for it.
        self._keeping_up = asyncio.Event()
        self._keeping_up.set()
        self._reassembly = smpp_mo.Reassembly(settings.mo_parts_seconds)
        self._intake: Intake | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def up(self) -> bool:
        return self._sender.bound

    async def start(self, intake: Intake) -> None:
        self._intake = intake
        self._consumer = asyncio.create_task(self._consume(), name=f"smpp {self.name} intake")
        for link in self._links:
            link.start()

    async def stop(self) -> None:
        self._stopping = True
        self._keeping_up.set()
        await asyncio.gather(*(link.stop() for link in self._links))
        self.inbound.put_nowait(None)
        if self._consumer is None:
            return
        try:
            await asyncio.wait_for(self._consumer, STOP_SECONDS)
        except TimeoutError:
            log.error("carrier %s: stopped with %d receipts or messages not handed to the intake", self.name,
                      self.inbound.qsize())

    # -- sending -------------------------------------------------------------------------------------------------

    async def hand_over(self, message: Outgoing) -> Accepted:
        settings = self.settings
        if message.media_urls:
            raise Rejected("an SMPP carrier sends text only, and the message has media", error_code=30008)
        if not self.up:
            raise Deferred(f"not bound to {settings.host}:{settings.port}", retry_after=NOT_BOUND_RETRY)
        self._ref = (self._ref + 1) % (1 << 16)
        parts = codec.submits(message.body, settings.concatenation, self._ref)
        source = codec.address_out(message.from_, settings.source_ton, settings.source_npi)
        destination = codec.address_out(message.to, settings.dest_ton, settings.dest_npi)
        references: list[str] = []
        for part in parts:
            try:
                references.append(await self._submit(part, source, destination))
            except Deferred as later:
                if references:
                    log.info("carrier %s: part %d of %d of %s was not taken (%s): the message goes again later, "
                             "its %d taken parts too", self.name, *part.seq, message.sid, later, len(references))
                raise
            except Rejected as refused:
                if references:
                    refused.detail["taken_parts"] = list(references)
                raise
        return Accepted(tuple(references), {"data_coding": parts[0].data_coding, "parts": len(parts),
                                            **({"concatenation": settings.concatenation} if len(parts) > 1 else {})})

    async def _submit(self, part: codec.Part, source: tuple[str, int, int], destination: tuple[str, int, int]
                      ) -> str:
        """Send one part; its message_id, or :class:`Deferred` / :class:`Rejected`."""
        if len(part.short_message) > codec.SHORT_MESSAGE_MAX:  # smpp34 would panic
            raise Rejected(f"a part of {len(part.short_message)} octets", error_code=codec.UNKNOWN_ERROR)
        if not self._keeping_up.is_set():
            try:
                await asyncio.wait_for(self._keeping_up.wait(), self.settings.response_seconds)
            except TimeoutError:
                raise Deferred(f"{self.inbound.qsize()} receipts and messages from the SMSC wait for the database",
                               retry_after=NOT_BOUND_RETRY) from None
        if self._pace is not None:
            await self._pace.take()
        paused = self._resume_at - time.monotonic()
        if paused > 0:
            await asyncio.sleep(paused)
        async with self._window:
            session = self._sender.session
            if session is None:
                raise Deferred("not bound", retry_after=NOT_BOUND_RETRY)
            try:
                answer = await asyncio.wait_for(session.submit_sm(
                    destination[0], part.short_message, source_addr=source[0], source_addr_ton=source[1],
                    source_addr_npi=source[2], dest_addr_ton=destination[1], dest_addr_npi=destination[2],
                    esm_class=part.esm_class, data_coding=part.data_coding, registered_delivery=1,
                    tlvs=[smpp34.Tlv(tag, value) for tag, value in part.tlvs]), self.settings.response_seconds)
            except TimeoutError as exc:
                self._sender.lose(f"no answer to a submit_sm within {self.settings.response_seconds:g} s")
                raise Deferred("no answer from the SMSC: it may have the message, which goes again",
                               retry_after=NOT_BOUND_RETRY) from exc
            except smpp34.SmppError as exc:
                self._sender.lose(str(exc))
                raise Deferred(f"the connection was lost before the SMSC answered ({exc}): it may have the message, "
                               f"which goes again", retry_after=NOT_BOUND_RETRY) from exc
            except Exception as exc:  # smpp34 refused to encode it (a RustPanic): nothing was sent
                raise Rejected(f"smpp34 could not send it ({exc})", error_code=codec.UNKNOWN_ERROR) from exc
        verdict = codec.answer_of(answer.command_status)
        if verdict.verdict == "taken":
            if time.monotonic() >= self._resume_at:
                self._pause = 0.0
            return answer.message_id or ""
        if verdict.verdict == "later":
            if verdict.status == codec.ESME_RINVBNDSTS:
                self._sender.lose("the SMSC answered ESME_RINVBNDSTS (not bound)")
            raise Deferred(verdict.name, retry_after=self._throttled())
        assert verdict.error_code is not None
        raise Rejected(f"the SMSC refused it: {verdict.name}", error_code=verdict.error_code,
                       detail={"command_status": verdict.name})

    def _throttled(self) -> float:
        """Pause the carrier's submits (longer if the last pause ended in another refusal); the seconds left."""
        now = time.monotonic()
        if now >= self._resume_at:
            self._pause = min(max(2 * self._pause, THROTTLE_FIRST), THROTTLE_MAX)
            self._resume_at = now + self._pause
        return max(self._resume_at - now, THROTTLE_FIRST)

    # -- what comes back -----------------------------------------------------------------------------------------

    def received(self, event: smpp34.DeliverSmEvent) -> None:
        """Queue a deliver_sm a bind read for the intake (submits wait while too many do)."""
        self.inbound.put_nowait(event)
        if self.inbound.qsize() > INBOUND_HIGH:
            self._keeping_up.clear()

    async def _consume(self) -> None:
        """Hand what the binds read to the intake, in order (the receipts waiting at once in one transaction);
        deliver long MO messages whose wait ran out."""
        assert self._intake is not None
        intake = self._intake
        while True:
            deadline = self._reassembly.next_deadline()
            try:
                first = await asyncio.wait_for(self.inbound.get(), None if deadline is None
                                               else max(deadline - time.monotonic(), 0))
            except TimeoutError:
                for late in self._reassembly.due(time.monotonic()):
                    await self._receive(late)
                continue
            batch = [first]
            while len(batch) < BATCH and not self.inbound.empty():
                batch.append(self.inbound.get_nowait())
            reports = []
            for event in batch:
                report = None if event is None else await self._take(event)
                if report is not None:
                    reports.append(report)
            if reports:
                await self._retrying(lambda: intake.report_all(reports), f"{len(reports)} receipts")
            if self.inbound.qsize() <= INBOUND_LOW:
                self._keeping_up.set()
            if None in batch:
                for late in self._reassembly.flush():
                    await self._receive(late)
                return

    async def _take(self, event: smpp34.DeliverSmEvent) -> Report | None:
        """A receipt's report (for the caller to hand over), or None: an MO part, taken here, or nothing."""
        tlvs = {tlv.tag: tlv.value for tlv in event.tlvs}
        kind = event.esm_class & codec.MESSAGE_TYPE
        if kind in codec.RECEIPT_TYPES:
            receipt = codec.receipt_of(event.short_message, event.data_coding, tlvs)
            if receipt is None:
                log.warning("carrier %s: a delivery receipt that names no message id was dropped", self.name)
                return None
            return codec.report_of(self.name, receipt, self.settings.receipt_errors)
        if kind != 0:
            log.debug("carrier %s: a deliver_sm with esm_class 0x%02X was ignored", self.name, event.esm_class)
            return None
        piece = smpp_mo.piece_of(
            source=event.source_addr, source_ton=event.source_addr_ton, source_npi=event.source_addr_npi,
            destination=event.destination_addr, dest_ton=event.dest_addr_ton, dest_npi=event.dest_addr_npi,
            esm_class=event.esm_class, data_coding=event.data_coding, short_message=event.short_message, tlvs=tlvs)
        for whole in self._reassembly.add(piece, time.monotonic()):
            await self._receive(whole)
        return None

    async def _receive(self, whole: smpp_mo.Assembled) -> None:
        assert self._intake is not None
        intake = self._intake
        if whole.missing:
            log.warning("carrier %s: a message from %s to %s came without its part(s) %s of %d: delivered as it is",
                        self.name, whole.source, whole.destination, ", ".join(map(str, whole.missing)), whole.parts)
        incoming = Incoming(carrier=self.name, from_=whole.source, to=whole.destination, body=whole.body)
        await self._retrying(lambda: intake.receive(incoming), f"a message from {whole.source}")

    async def _retrying(self, call: Callable[[], Awaitable[object]], what: str) -> None:
        """Run an intake call until it succeeds (the database may be away for a while): the SMSC has been told
        it arrived. Stopping, it is given up after a few tries."""
        delay = 0.5
        for attempt in itertools.count(1):
            try:
                await call()
                if attempt > 1:
                    log.info("carrier %s: %s was taken after %d tries", self.name, what, attempt)
                return
            except Exception as exc:
                if attempt == 1:
                    log.warning("carrier %s: the intake could not take %s (%s): trying again", self.name, what, exc)
                if self._stopping and attempt >= 3:
                    log.error("carrier %s: %s was lost: stopping, and the intake could not take it", self.name, what)
                    return
            await asyncio.sleep(delay)
            delay = min(2 * delay, 5.0)
