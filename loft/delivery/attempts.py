"""A message's hand-offs to network carriers, as the API (``/loft/v1/…/Deliveries``), ``loft tail`` and the
console show them: which carrier took it, its references, and what its reports said."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from loft.db.engine import Conn
from loft.db.tables import carrier_references, delivery_attempts
from loft.kit import dates


async def for_message(conn: Conn, message_sid: str) -> list[dict[str, Any]]:
    """The hand-offs of ``message_sid``, oldest first (none: the simulator took it, or it has not left)."""
    rows = (await conn.execute(select(delivery_attempts).where(delivery_attempts.c.message_sid == message_sid)
                               .order_by(delivery_attempts.c.id))).all()
    if not rows:
        return []
    parts: dict[int, list[dict[str, Any]]] = {}
    for part in (await conn.execute(select(carrier_references)
                                    .where(carrier_references.c.attempt_id.in_([row.id for row in rows]))
                                    .order_by(carrier_references.c.part))).all():
        parts.setdefault(part.attempt_id, []).append({"reference": part.reference, "status": part.status})
    return [
        {
            "carrier": row.carrier,
            "reference": row.reference,
            "parts": parts.get(row.id, []),
            "status": row.status,
            "error_code": row.error_code,
            "detail": row.detail,
            "date_created": dates.iso8601(row.date_created),
            "date_updated": dates.iso8601(row.date_updated),
        }
        for row in rows
    ]
