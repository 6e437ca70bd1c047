"""An open-loop load generator: requests leave at a fixed rate whatever the server does.

wrk is closed loop (a slow answer delays the next request, which hides queueing: "coordinated omission"), and
``wrk2``, its fixed-rate fork, is not packaged in Debian. Here request ``i`` is due at ``start + i / rate``;
its latency is measured from that due time, so time spent waiting for a free connection or behind a late
generator counts against the server, as a user would feel it. ``lag_p99_ms`` says how late requests left
(a busy server delays them too, since every connection is then waiting for an answer); ``loop_lag_p99_ms``
says how late the generator's own event loop woke up: when it is large, the generator (one Python process) was
the bottleneck.

Requests go over a pool of kept-alive connections (``bench.client``), so the generator costs a few tens of
microseconds of CPU per request. The pool is connected before the first request is due: what is measured is a
steady load, and 64 connections opened inside its first tens of milliseconds put their handshakes (and the
server's first answer on each) into the latencies of the first second, about 0.7 % of a 10-second run at
900 requests/s, which is where its p99 lies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.client import Connection, LoopLag, address
from bench.stats import percentile


@dataclass
class OpenLoopResult:
    rate: float
    planned: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    #: How late the generator's event loop woke up (p99): large values mean the generator was the bottleneck.
    loop_lag_p99_ms: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))

    @property
    def achieved_rps(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    @property
    def lag_p99_ms(self) -> float:
        return percentile(self.lags_ms, 99)


async def run(url: str, requests: Sequence[bytes], *, rate: float, seconds: float, connections: int = 64,
              timeout: float = 10.0) -> OpenLoopResult:
    """Send ``requests`` (cycled; pre-built by ``bench.client.build``) to ``url``'s host at ``rate`` per second
    for ``seconds``; every request ends within ``timeout`` (a late one counts as ``TimeoutError``).

    ``connections`` senders share the schedule: each takes the next request, waits for its due time, sends it
    and records its latency from the due time. When all of them are busy (the server is slow), the next request
    leaves late and its wait counts in its latency, as it would for a client with that many connections.
    """
    host, port = address(url)
    planned = max(1, int(rate * seconds))
    result = OpenLoopResult(rate=rate, planned=planned, seconds=0.0)
    pool = [Connection(host, port) for _ in range(connections)]
    try:
        await asyncio.gather(*(conn.open() for conn in pool))
    except BaseException:
        await asyncio.gather(*(conn.close() for conn in pool))
        raise
    start = time.monotonic() + 0.05
    next_index = 0
    lag = LoopLag().start()

    async def sender(conn: Connection) -> None:
        nonlocal next_index
        try:
            while next_index < planned:
                i = next_index
                next_index += 1
                due = start + i / rate
                early = due - time.monotonic()
                if early > 0:
                    await asyncio.sleep(early)
                result.lags_ms.append(max(0.0, time.monotonic() - due) * 1000)
                try:
                    async with asyncio.timeout(timeout):
                        status, _ = await conn.request(requests[i % len(requests)])
                    code = str(status)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    code = type(exc).__name__
                except TimeoutError:
                    code = "TimeoutError"
                result.statuses[code] = result.statuses.get(code, 0) + 1
                if code.startswith("2"):
                    result.latencies_ms.append((time.monotonic() - due) * 1000)
        finally:
            await conn.close()

    try:
        await asyncio.gather(*(sender(conn) for conn in pool))
        result.seconds = time.monotonic() - start
    finally:
        await lag.stop()
        result.loop_lag_p99_ms = lag.p(99)
    return result
