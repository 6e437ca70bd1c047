"""Rows of Loft's tables written straight to a database, for tests of the schema and its migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

ACCOUNT = "AC" + "0" * 32


def account(sid: str = ACCOUNT) -> dict[str, Any]:
    """A main account's row of ``accounts``."""
    now = datetime.now(UTC)
    return {"sid": sid, "friendly_name": "main", "status": "active", "type": "Full", "auth_token_sealed": "x",
            "is_main": True, "date_created": now, "date_updated": now}


def message(n: int, account_sid: str = ACCOUNT, **values: Any) -> dict[str, Any]:
    """The ``n``-th queued outbound message's row of ``messages`` (``values`` replace the defaults)."""
    now = datetime.now(UTC)
    return {"sid": f"SM{n:032x}", "account_sid": account_sid, "direction": "outbound-api",
            "from_addr": "+15005550006", "to_addr": "+14155550100", "body": "Hello", "status": "queued",
            "num_segments": 1, "num_media": 0, "price_unit": "USD", "validity_period": 36000, "options": {},
            "date_created": now, "date_updated": now, **values}
