"""Twilio's connection overrides, written in a webhook URL's fragment.

``https://example.com/sms#ct=1000&rt=3000&tt=10000&rc=2&rp=ct,rt,4xx,5xx`` — the fragment is never sent to the
receiver; it tunes how the request is made:

====  ===============================================  ============  ===========
key   meaning                                          default       range
====  ===============================================  ============  ===========
ct    connect timeout, milliseconds                    5000          100-10000
rt    read timeout (also between packets), ms          15000         100-15000
tt    total time for all attempts, ms                  15000         100-15000
rc    retry count: extra attempts after the first      1             0-5
rp    retry policy: comma list of ct, rt, 4xx, 5xx;    ct
      ``all`` means all four
====  ===============================================  ============  ===========

Loft's reading of a fragment (Twilio rejects some of these with errors such as 11243; Loft never fails a webhook
over its fragment):

- numbers outside the range are clamped to it (``rc=9`` means 5, ``ct=1`` means 100 ms);
- a malformed value (``ct=fast``, ``ct=1.5``, ``rp=ct,sometimes``, ``rp=``) leaves that setting at its default;
- unknown keys are ignored, and so are the edge (``e``) and SNI (``sni``) settings, which have no meaning for a
  self-hosted server; the last of repeated keys wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

RETRY_CLASSES = frozenset({"ct", "rt", "4xx", "5xx"})
_INTEGER = re.compile(r"-?[0-9]{1,12}")


@dataclass(frozen=True)
class ConnectionPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 15.0
    retry_count: int = 1
    retry_on: frozenset[str] = field(default_factory=lambda: frozenset({"ct"}))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _milliseconds(text: str, low: int, high: int) -> float | None:
    if not _INTEGER.fullmatch(text):
        return None
    return _clamp(int(text), low, high) / 1000


def _retry_on(text: str) -> frozenset[str] | None:
    names = {name.strip().lower() for name in text.split(",")}
    if "all" in names:
        names = (names - {"all"}) | RETRY_CLASSES
    if not names or not names <= RETRY_CLASSES:
        return None
    return frozenset(names)


def _apply(policy: ConnectionPolicy, key: str, text: str) -> ConnectionPolicy:
    if key == "ct" and (seconds := _milliseconds(text, 100, 10_000)) is not None:
        return replace(policy, connect_timeout=seconds)
    if key == "rt" and (seconds := _milliseconds(text, 100, 15_000)) is not None:
        return replace(policy, read_timeout=seconds)
    if key == "tt" and (seconds := _milliseconds(text, 100, 15_000)) is not None:
        return replace(policy, total_timeout=seconds)
    if key == "rc" and _INTEGER.fullmatch(text):
        return replace(policy, retry_count=_clamp(int(text), 0, 5))
    if key == "rp" and (classes := _retry_on(text)) is not None:
        return replace(policy, retry_on=classes)
    return policy


def parse(url: str) -> tuple[str, ConnectionPolicy]:
    """The URL without its fragment, and the policy the fragment asks for (the defaults when there is none)."""
    base, _, fragment = url.partition("#")
    policy = ConnectionPolicy()
    for pair in fragment.split("&") if fragment else []:
        key, _, value = pair.partition("=")
        policy = _apply(policy, unquote(key).strip(), unquote(value).strip())
    return base, policy
