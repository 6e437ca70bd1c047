"""A closed-loop sender of exactly ``count`` requests: ``concurrency`` async clients, each sending its next
request as soon as the previous one is answered.

With several targets (API processes behind an imaginary load balancer) request ``i`` goes to target
``i % len(targets)``: the generator alternates between them. The SIDs of created resources are collected from
the answers, so the caller can check each one later (delivered, exactly once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from bench.client import Connection, LoopLag, address
from bench.stats import percentile


@dataclass
class ClosedLoopResult:
    count: int
    first_sent_at: float = 0.0
    last_answered_at: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    sids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    loop_lag_p99_ms: float = 0.0
    loop_lag_max_ms: float = 0.0
    #: CPU seconds the generator process spent while sending (to tell whether the client was the bottleneck).
    cpu_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return max(0.0, self.last_answered_at - self.first_sent_at)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


async def run(targets: Sequence[str], make: Callable[[int, str], bytes], *, count: int, concurrency: int = 64,
              timeout: float = 30.0, deadline: float | None = None) -> ClosedLoopResult:
    """Send ``make(i, target_url)`` for i in 0..count-1; stop early (what was sent stays sent) at ``deadline``
    (a ``time.monotonic()`` value)."""
    result = ClosedLoopResult(count=count)
    ends = [address(url) for url in targets]
    next_index = 0
    lag = LoopLag().start()
    cpu_before = time.process_time()

    async def client() -> None:
        nonlocal next_index
        conns = [Connection(host, port) for host, port in ends]
        try:
            while next_index < count and (deadline is None or time.monotonic() < deadline):
                i = next_index
                next_index += 1
                which = i % len(targets)
                data = make(i, targets[which])
                started = time.monotonic()
                if not result.first_sent_at:
                    result.first_sent_at = started
                try:
                    async with asyncio.timeout(timeout):
                        status, body = await conns[which].request(data)
                    code = str(status)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    code, body = type(exc).__name__, b""
                except TimeoutError:
                    code, body = "TimeoutError", b""
                finished = time.monotonic()
                result.last_answered_at = max(result.last_answered_at, finished)
                result.statuses[code] = result.statuses.get(code, 0) + 1
                if code.startswith("2"):
                    result.latencies_ms.append((finished - started) * 1000)
                    try:
                        result.sids.append(str(orjson.loads(body)["sid"]))
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        result.errors.append(f"no sid in a {code} answer: {body[:200]!r}")
                elif len(result.errors) < 20:
                    result.errors.append(f"{code}: {body[:300]!r}")
        finally:
            for conn in conns:
                await conn.close()

    try:
        await asyncio.gather(*(client() for _ in range(max(1, min(concurrency, count)))))
    finally:
        await lag.stop()
        result.cpu_seconds = time.process_time() - cpu_before
        result.loop_lag_p99_ms = lag.p(99)
        result.loop_lag_max_ms = max(lag.samples_ms, default=0.0)
    return result
