"""The binds of an SMPP carrier: each :class:`Link` keeps one bind (transceiver, transmitter or receiver) up until
its carrier stops, and hands every deliver_sm it reads to its carrier (:mod:`loft.delivery.carriers.smpp`).

- **Binding.** One ``smpp34.Client`` per attempt (a client binds once). A refused or unreachable bind is tried
  again after half a second, doubling up to ``reconnect_max_seconds``. smpp34 reports a refused bind as one not
  answered within ``response_seconds`` ("bind timed out"): the log says to check system_id and password.
- **The log** has one line per change of state (bound, refused, unreachable, lost, unbound), not one per
  attempt, and never the password.
- **Keeping it.** smpp34 sends enquire_link every 30 s by itself (not configurable) and ends the session when the
  SMSC stops answering (after about a minute); the carrier drops a bind sooner when a submit_sm goes unanswered
  (:meth:`Link.lose`). Closing always unbinds first: smpp34 leaves a connection bound otherwise.
- **Reading.** smpp34 acknowledges a deliver_sm as it arrives (its deliver_sm_resp) and queues it until it is
  read; a queue of 1024 (its default) that fills up wedges the session. :class:`Reads` keeps several reads
  waiting at once and passes what they give on at once, so that what smpp34 acknowledged leaves its queue
  promptly, even on a busy event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

import smpp34

from loft.delivery.carriers.plan import SmppSettings

log = logging.getLogger("loft.carriers.smpp")

Mode = Literal["TRX", "TX", "RX"]
MODE_NAMES: dict[Mode, str] = {"TRX": "transceiver", "TX": "transmitter", "RX": "receiver"}
#: A pending ``Smsc.next()``.
_Reading = asyncio.Future[smpp34.DeliverSmEvent | smpp34.Disconnected]
#: The first wait before binding again; it doubles up to ``reconnect_max_seconds``.
RECONNECT_FIRST = 0.5
#: Seconds an unbind may take, and then for the deliver_sm already acknowledged to be read, when a bind ends.
UNBIND_SECONDS = 2.0
DRAIN_SECONDS = 1.0


#: Where a link hands each deliver_sm it reads.
Received = Callable[[smpp34.DeliverSmEvent], None]


class Link:
    """One bind (transceiver, transmitter or receiver) of the carrier ``name``, kept bound until :meth:`stop`."""

    def __init__(self, name: str, settings: SmppSettings, mode: Mode, received: Received) -> None:
        self.name = name
        self.settings = settings
        self.mode = mode
        self.received = received
        self.session: smpp34.Smsc | None = None
        self._lost = asyncio.Event()
        self._why = ""
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: The last state logged: a line is written when it changes, not at every attempt.
        self._state = "starting"
        #: When the bind last went from bound (or starting) to a warning's state.
        self._down_since: float | None = None

    @property
    def bound(self) -> bool:
        return self.session is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_bound(), name=f"smpp {self.name} {self.mode}")

    def lose(self, why: str) -> None:
        """Drop the connection (it cannot be trusted any more) and bind again."""
        if self.session is not None and not self._lost.is_set():
            self._why = why
            self._lost.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._lost.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, UNBIND_SECONDS + DRAIN_SECONDS + 3)
            except TimeoutError:
                log.warning("carrier %s: the %s bind did not close in time", self.name, MODE_NAMES[self.mode])

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _note(self, state: str, level: int, text: str, *args: object) -> None:
        if level >= logging.WARNING and self._down_since is None:
            self._down_since = time.monotonic()
        if state != self._state:
            log.log(level, "carrier %s: " + text, self.name, *args)
        self._state = state

    async def _keep_bound(self) -> None:
        settings = self.settings
        delay = RECONNECT_FIRST
        while not self._stopping.is_set():
            client = smpp34.Client(
                host=settings.host, port=settings.port, system_id=settings.system_id,
                password=settings.password.get_secret_value(), system_type=settings.system_type, bind_type=self.mode,
                connect_timeout_ms=int(settings.response_seconds * 1000))
            session = await self._bind(client)
            if session is None:
                await client.stop()
                if await self._wait(delay):
                    return
                delay = min(delay * 2, settings.reconnect_max_seconds)
                continue
            delay = RECONNECT_FIRST
            if self._down_since is None:
                self._note("bound", logging.INFO, "bound to %s as %s (system_id %s)", self._where(),
                           MODE_NAMES[self.mode], settings.system_id)
            else:  # a warning (refused, unreachable, lost) is ended by one: both show at the default level
                self._note("bound", logging.WARNING, "bound again to %s as %s, after %.0f s", self._where(),
                           MODE_NAMES[self.mode], time.monotonic() - self._down_since)
            self._down_since = None
            self._lost.clear()
            self._why = ""
            self.session = session
            reads = Reads(session, self.received)
            try:
                await self._pump(reads)
            finally:
                self.session = None
                await self._close(session, client, reads)
            if self._stopping.is_set():
                self._note("unbound", logging.INFO, "unbound from %s (%s)", self._where(), MODE_NAMES[self.mode])
                return
            self._note("lost", logging.WARNING, "the %s connection to %s was lost (%s): binding again",
                       MODE_NAMES[self.mode], self._where(), self._why)

    async def _bind(self, client: smpp34.Client) -> smpp34.Smsc | None:
        """A bound session, or None (refused, unreachable, or stopping), the reason logged when it is news."""
        settings = self.settings
        connecting = asyncio.ensure_future(client.connect())
        stopping = asyncio.ensure_future(self._stopping.wait())
        either: set[asyncio.Future[Any]] = {connecting, stopping}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not connecting.done():
            connecting.cancel()
            return None
        try:
            session = connecting.result()
        except Exception as exc:  # SmppError; a RustPanic for what smpp34 cannot encode
            reason = str(exc) or type(exc).__name__
            if "bind timed out" in reason:  # smpp34 reports a refused bind as a silent one
                self._note("refused", logging.WARNING,
                           "%s refused the bind as %s or did not answer it within %g s: check system_id and "
                           "password (binding again every %g s at most)", self._where(), MODE_NAMES[self.mode],
                           settings.response_seconds, settings.reconnect_max_seconds)
            else:
                self._note("unreachable", logging.WARNING, "cannot bind to %s (%s): trying again every %g s at most",
                           self._where(), reason, settings.reconnect_max_seconds)
            return None
        if self._stopping.is_set():
            await self._close(session, client, None)
            return None
        return session

    async def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less if the carrier stops (True then)."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _pump(self, reads: Reads) -> None:
        """Move every deliver_sm into the carrier's queue until the connection ends or is dropped."""
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while not lost.done():
                if not await reads.take(lost):
                    self._why = self._why or "closed by the SMSC"
                    return
        finally:
            lost.cancel()

    async def _close(self, session: smpp34.Smsc, client: smpp34.Client, reads: Reads | None) -> None:
        """Unbind, keep what smpp34 acknowledged already, and close."""
        try:
            await asyncio.wait_for(session.unbind(), UNBIND_SECONDS)
        except (smpp34.SmppError, TimeoutError):
            pass  # gone already, or hung: closed below all the same
        if reads is not None:
            await reads.drain(DRAIN_SECONDS)
        await client.stop()


class Reads:
    """Several ``Smsc.next()`` awaited at once. smpp34 acknowledges a deliver_sm as it arrives and queues it until
    it is read; a busy event loop resolves about one read per turn, so one read at a time lets that queue (and
    what a crash would lose) grow. What is read goes to the carrier's queue at once."""

    WIDTH = 8

    def __init__(self, session: smpp34.Smsc, received: Received) -> None:
        self.session = session
        self.received = received
        self.pending: set[_Reading] = set()
        self.ended = False
        self._refill()

    def _refill(self) -> None:
        while not self.ended and len(self.pending) < self.WIDTH:
            self.pending.add(asyncio.ensure_future(self.session.next()))

    def _keep(self, done: set[_Reading]) -> None:
        for read in done:
            self.pending.discard(read)
            event = None if read.cancelled() or read.exception() else read.result()
            if isinstance(event, smpp34.DeliverSmEvent):
                self.received(event)
            else:  # Disconnected (or a read that failed): the session is over
                self.ended = True
        self._refill()

    async def take(self, stop: asyncio.Future[Any]) -> bool:
        """Wait for reads (or ``stop``) and keep what they gave; False once the connection has ended."""
        either: set[asyncio.Future[Any]] = {*self.pending, stop}
        done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        self._keep({read for read in self.pending if read in done})
        return not self.ended

    async def drain(self, seconds: float) -> None:
        """Keep what is still to be read (the connection is closing), for ``seconds`` at most."""
        deadline = time.monotonic() + seconds
        while self.pending:
            done, _ = await asyncio.wait(self.pending, timeout=max(deadline - time.monotonic(), 0),
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:
                break
            self._keep(done)
        for read in self.pending:
            read.cancel()
