"""The simulator carrier: messages land in virtual handsets' inboxes; each handset's settings say how its
"carrier" answers (see ``loft.sim``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, insert, select

from loft.db.engine import Conn
from loft.db.prepared import Prepared, list_length, listed, values_of
from loft.db.tables import handset_inbox, handsets
from loft.delivery.carriers.base import Receipt
from loft.kit import dates

#: Handset behaviour → (receives the message, delivery report outcome, error code).
BEHAVIORS: dict[str, tuple[bool, str | None, int | None]] = {
    "deliver": (True, "delivered", None),
    "unreachable": (False, "undelivered", 30003),
    "unknown": (False, "undelivered", 30005),
    "landline": (False, "undelivered", 30006),
    "filtered": (False, "undelivered", 30007),
    "no-receipt": (True, None, None),
}


_DELIVER = Prepared(insert(handset_inbox))


@lru_cache(maxsize=None)
def _handsets(length: int) -> Prepared:
    return Prepared(select(handsets.c.phone_number, handsets.c.behavior, handsets.c.receipt_delay_ms)
                    .where(handsets.c.phone_number.in_(listed("number", length))))


class SimCarrier:
    name = "sim"
    transactional = True

    async def submit(self, conn: Conn, message: Row[Any], media_urls: list[str]) -> Receipt | None:
        return (await self._deliver(conn, [(message, media_urls)]))[0]

    async def submit_many(self, conn: Conn, messages: Sequence[Row[Any]]) -> list[Receipt | None]:
        return await self._deliver(conn, [(message, []) for message in messages])

    async def _deliver(self, conn: Conn, sends: list[tuple[Row[Any], list[str]]]) -> list[Receipt | None]:
        """Each message to its handset's inbox (one query for the handsets' settings, one insert for all)."""
        numbers = sorted({message.to_addr for message, _ in sends})
        found = await conn.execute(_handsets(list_length(len(numbers))), values_of("number", numbers))
        settings = {row.phone_number: (row.behavior, row.receipt_delay_ms) for row in found.all()}
        moment = dates.now()
        received, receipts = [], []
        for message, media_urls in sends:
            behavior, delay_ms = settings.get(message.to_addr, ("deliver", 0))
            receives, outcome, error_code = BEHAVIORS[behavior]
            if receives:
                received.append({
                    "phone_number": message.to_addr, "account_sid": message.account_sid, "message_sid": message.sid,
                    "from_addr": message.from_addr, "body": message.body, "media_urls": media_urls,
                    "date_received": moment,
                })
            receipts.append(None if outcome is None else Receipt(
                outcome="delivered" if outcome == "delivered" else "undelivered", delay_ms=delay_ms,
                error_code=error_code))
        if received:
            await conn.execute_many(_DELIVER, received)
        return receipts
