"""The delivery boundary: what a carrier is given, what it answers, and how what comes back reaches Loft.

Two kinds of carrier stand behind it:

- a **network carrier** (:class:`Carrier`: SMPP, the Twilio relay) is a long-lived component of the processes
  that deliver (see :mod:`loft.delivery.carriers.hub`): started once, with the :class:`Intake` that its receipts
  and mobile-originated messages go to, and stopped with its process. :meth:`Carrier.hand_over` runs outside
  any database transaction and answers with the carrier's own reference (:class:`Accepted`), or refuses:
  :class:`Deferred` (throttled, queue full, not connected: later, without spending the message's retries) or
  :class:`Rejected` (never: the message fails with a Twilio error code).
- the **simulator** (:class:`LocalCarrier`) lives in the database: it hands messages over by writing through
  the send's own connection, so the hand-off commits with the status change and is never made twice.

Error tree (all :class:`loft.errors.LoftError`)::

    CarrierError
    ├── Deferred    try again later (retry_after seconds); the message stays queued
    └── Rejected    the carrier refused the message for good (error_code: Twilio's code)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy import Row

from loft.db.engine import Conn
from loft.errors import LoftError

#: Where a delivery report leaves a message: Twilio's final statuses (``sent``: accepted downstream, no more).
Outcome = Literal["sent", "delivered", "undelivered", "failed"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to hand over: what a carrier needs of it, and nothing of the database."""

    sid: str
    account_sid: str
    from_: str
    to: str
    body: str
    media_urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, message: Row[Any], media_urls: Sequence[str] = ()) -> Outgoing:
        return cls(message.sid, message.account_sid, message.from_addr, message.to_addr, message.body,
                   tuple(media_urls))


@dataclass(frozen=True, slots=True)
class Accepted:
    """The carrier took the message. ``references``: its own id of each part it took (an SMPP ``message_id`` per
    ``submit_sm``, the upstream ``SM…`` sid), which its delivery reports will name; ``detail``: what else it
    said, kept with the attempt."""

    references: tuple[str, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)


class CarrierError(LoftError):
    """A carrier did not take a message (its cause chained, as ``raise … from exc``)."""


class Deferred(CarrierError):
    """Not now: throttled, its queue full, not connected. The message waits ``queued`` and is handed over again
    after ``retry_after`` seconds, without counting against its retries."""

    def __init__(self, reason: str, *, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Rejected(CarrierError):
    """Never: the message fails with Twilio's ``error_code`` (``detail``: what the carrier said, kept)."""

    def __init__(self, reason: str, *, error_code: int, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_code = error_code
        self.detail = dict(detail or {})


@dataclass(frozen=True, slots=True)
class Report:
    """A delivery report from a carrier, about the part it called ``reference``."""

    carrier: str
    reference: str
    outcome: Outcome
    error_code: int | None = None
    #: The carrier's own words (SMPP ``stat`` / ``err``, the upstream's status), kept with the attempt.
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A mobile-originated message a carrier received for one of Loft's numbers (reassembled already)."""

    carrier: str
    from_: str
    to: str
    body: str
    media_urls: tuple[str, ...] = ()
    #: The carrier's id of it, if it gives one (kept with the message's options, for tracing).
    reference: str | None = None
    #: The carrier's network answered opt-out keywords itself (as Twilio does): Loft records a STOP or START, and
    #: sends no auto-reply of its own (the phone would get two).
    keywords_answered: bool = False


class Intake(Protocol):
    """Where carriers send what comes back (implemented by :class:`loft.messages.intake.Intake`). Each call returns
    once what it was given is committed: a carrier acknowledges upstream only then, so nothing it acknowledged is
    lost (a crash before that means the peer sends it again: reports are idempotent)."""

    async def report(self, report: Report) -> None: ...

    async def report_all(self, reports: Sequence[Report]) -> None:
        """:meth:`report` for many, in one transaction (a carrier that reads receipts faster than one commit each)."""
        ...

    async def receive(self, incoming: Incoming) -> str | None:
        """Store the message for the number's owner (its webhook follows); its SID, None if no account owns ``to``."""
        ...


class Carrier(Protocol):
    """A network carrier. ``name`` is its name in the carriers file."""

    name: str

    @property
    def up(self) -> bool:
        """Whether a hand-off is worth trying now (bound, reachable, or due for another try). While it is False
        the carrier's sends are not claimed: they wait in the outbox, queued, and ``loft_carrier_up`` is 0."""
        ...

    async def start(self, intake: Intake) -> None:
        """Begin (connect, bind): return at once, and keep (re)connecting in the background until :meth:`stop`."""
        ...

    async def stop(self) -> None:
        """Stop taking messages, say goodbye to the peer (unbind), and release everything."""
        ...

    async def hand_over(self, message: Outgoing) -> Accepted:
        """Give ``message`` to the network; :class:`Deferred` or :class:`Rejected` if it does not take it."""
        ...


@dataclass(frozen=True, slots=True)
class Predicted:
    """The simulator's delivery report for a message it took, and after how long it comes."""

    outcome: Literal["delivered", "undelivered"]
    delay_ms: int
    error_code: int | None = None


class LocalCarrier(Protocol):
    """A carrier inside the database (the simulator): it takes messages through the send's own connection."""

    name: str

    async def hand_over_in(self, conn: Conn, sends: Sequence[tuple[Row[Any], Sequence[str]]]
                           ) -> list[Predicted | None]:
        """Take each (message, media URLs); the report each will get (None: none will come)."""
        ...
