"""Per-sender throughput: each sender's segments leave at most at its rate (messages per second).

The pace is kept in the database (``sender_pacing``), so it holds across every process sharing it. A send is
given the next free slot of its sender when it is created; a sender whose queue already holds more than four
hours of traffic refuses new sends with 21611, as Twilio does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update

from loft.db import upsert
from loft.db.engine import Conn
from loft.db.tables import sender_pacing
from loft.errors import InvalidParameter
from loft.kit import dates

MAX_QUEUE = timedelta(hours=4)
#: Twilio's default rates, by sender type (segments per second).
TWILIO_RATES: dict[str, float] = {"local": 1.0, "mobile": 1.0, "tollFree": 3.0, "shortCode": 100.0,
                                  "alphanumeric": 10.0}


async def slot(conn: Conn, sender: str, *, sender_type: str, segments: int,
               rates: Mapping[str, float]) -> datetime:
    """The moment this send may leave; records the sender's next free moment."""
    moment = dates.now()
    rate = rates.get(sender_type)
    if not rate:
        return moment
    await upsert.insert_ignore(conn, sender_pacing, sender=sender, next_at=moment)
    query = select(sender_pacing.c.next_at).where(sender_pacing.c.sender == sender)
    next_at = dates.as_utc((await conn.execute(query.with_for_update())).scalar_one())
    start = max(moment, next_at)
    if start - moment > MAX_QUEUE:
        raise InvalidParameter(21611, "This 'From' number has exceeded the maximum number of queued messages")
    following = start + timedelta(seconds=segments / rate)
    await conn.execute(update(sender_pacing).where(sender_pacing.c.sender == sender).values(next_at=following))
    return start
