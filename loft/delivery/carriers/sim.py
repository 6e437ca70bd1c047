"""The simulator carrier: messages land in virtual handsets' inboxes; each handset's settings say how its
"carrier" answers (see ``loft.sim``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, bindparam, insert, select

from loft.db.engine import Conn
from loft.db.prepared import Prepared
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


_HANDSET = Prepared(select(handsets).where(handsets.c.phone_number == bindparam("phone_number")))
_DELIVER = Prepared(insert(handset_inbox))


class SimCarrier:
    name = "sim"
    transactional = True

    async def submit(self, conn: Conn, message: Row[Any], media_urls: list[str]) -> Receipt | None:
        settings = (await conn.execute(_HANDSET, {"phone_number": message.to_addr})).first()
        behavior = settings.behavior if settings else "deliver"
        delay_ms = settings.receipt_delay_ms if settings else 0
        receives, outcome, error_code = BEHAVIORS[behavior]
        if receives:
            await conn.execute(_DELIVER, {
                "phone_number": message.to_addr, "account_sid": message.account_sid, "message_sid": message.sid,
                "from_addr": message.from_addr, "body": message.body, "media_urls": media_urls,
                "date_received": dates.now(),
            })
        if outcome is None:
            return None
        return Receipt(outcome="delivered" if outcome == "delivered" else "undelivered", delay_ms=delay_ms,
                       error_code=error_code)
