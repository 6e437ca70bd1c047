"""What a message costs: a per-segment SMS price by destination country, a flat MMS price.

Twilio writes prices as negative decimal strings with five places (``"-0.00790"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache

from loft.kit import phone


def quote(prices: Mapping[str, Decimal], destination: str, *, segments: int, mms: bool,
          mms_prices: Mapping[str, Decimal]) -> str:
    table = mms_prices if mms else prices
    country = phone.country(destination) or "*"
    unit = table.get(country, table.get("*", Decimal(0)))
    return _written(unit, 1 if mms else segments)


@lru_cache(maxsize=1024)
def _written(unit: Decimal, count: int) -> str:
    """``count`` times ``unit``, as Twilio writes a price (a few prices and counts make every quote: remembered)."""
    total = unit * count
    return f"{-total:.5f}" if total else "0.00000"
