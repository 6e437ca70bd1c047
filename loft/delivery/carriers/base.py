"""The carrier interface every way out of Loft implements (the simulator now; a Twilio relay and SMPP later)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Row

from loft.db.engine import Conn


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the carrier's delivery report will say, and after how long."""

    outcome: Literal["delivered", "undelivered"]
    delay_ms: int
    error_code: int | None = None


class Carrier(Protocol):
    name: str
    #: True when ``submit`` writes only through ``conn``: the hand-off then commits (or rolls back) with the
    #: status change, and a job re-run after a crash can never hand the message over twice.
    transactional: bool

    async def submit(self, conn: Conn, message: Row[Any], media_urls: list[str]) -> Receipt | None:
        """Hand the message over; return the delivery report to expect, or None if none will come."""
        ...

    async def submit_many(self, conn: Conn, messages: Sequence[Row[Any]]) -> list[Receipt | None]:
        """Hand over messages without media, many at once (a transactional carrier's batch of sends)."""
        ...
