"""A closed-loop sender of exactly ``count`` requests: ``concurrency`` async clients, each sending its next
request as soon as the previous one is answered.

With several targets (API processes behind an imaginary load balancer) request ``i`` goes to target
``i % len(targets)``: the generator alternates between them. The SIDs of created resources are collected from
the answers, so the caller can check each one later (delivered, exactly once).

One generator is one Python process, so one core: about 0.18 of a core per 1,400 messages a second on the bench
machine, which caps what it can offer near 8,000 a second. :func:`run_sharded` spreads the requests over several
generator processes, started together, for the layouts whose Loft would otherwise outrun its load.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from bench.client import Connection, LoopLag, address, run_async
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
    #: Each generator process's CPU seconds over its seconds of sending (one for :func:`run`; near 1, one core,
    #: that generator limited the rate).
    cpu_shares: list[float] = field(default_factory=list)

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
        result.cpu_shares = [result.cpu_seconds / result.seconds] if result.seconds else []
        result.loop_lag_p99_ms = lag.p(99)
        result.loop_lag_max_ms = max(lag.samples_ms, default=0.0)
    return result


#: Seconds the generator processes of :func:`run_sharded` have to start (spawn, imports) before they all begin.
SHARDS_START_TIMEOUT = 120.0


def run_sharded(targets: Sequence[str], make: Callable[..., bytes], args: tuple[Any, ...], *, count: int,
                concurrency: int, shards: int, timeout: float = 30.0, deadline: float | None = None
                ) -> ClosedLoopResult:
    """:func:`run` over ``shards`` generator processes, each with its own event loop: shard ``g`` sends requests
    ``g``, ``g + shards``, ``g + 2 × shards``… (``make(i, target, *args)``, ``i`` the request's index among all
    ``count``; ``make`` and ``args`` must pickle: a module's function and plain values) with its share of the
    ``concurrency`` clients. The shards start once all are ready, and their results are merged (:func:`merged`).
    A single shard runs here, in this process, as :func:`run`."""
    if shards <= 1:
        return run_async(run(targets, partial(_global, make, args, 0, 1), count=count, concurrency=concurrency,
                             timeout=timeout, deadline=deadline))
    context = multiprocessing.get_context("spawn")  # (this process has threads: the CPU meters' samplers)
    start = context.Barrier(shards + 1)
    results: Any = context.Queue()
    processes = [
        context.Process(target=_shard, name=f"generator {index + 1}/{shards}", daemon=True, args=(
            index, shards, list(targets), make, args, _share(count, shards, index), _share(concurrency, shards, index),
            timeout, deadline, start, results))
        for index in range(shards)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(SHARDS_START_TIMEOUT)
        # Taken before joining: a child exits once its result is taken. A child that died without one is waited
        # for until a minute past the deadline.
        wait = None if deadline is None else max(60.0, deadline - time.monotonic() + 60.0)
        answers = [results.get(timeout=wait) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failures = [answer for answer in answers if isinstance(answer, str)]
    if failures:
        raise RuntimeError("a generator process failed:\n" + failures[0])
    return merged([answer for _, answer in sorted(answers, key=lambda answer: answer[0])])


def merged(results: Sequence[ClosedLoopResult]) -> ClosedLoopResult:
    """The results of several generators sending at once, as one: from the first request sent to the last answer
    received, every latency and SID, and each generator's CPU share (the busiest one is what may have limited)."""
    statuses: dict[str, int] = {}
    for result in results:
        for code, n in result.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    firsts = [result.first_sent_at for result in results if result.first_sent_at]
    return ClosedLoopResult(
        count=sum(result.count for result in results),
        first_sent_at=min(firsts, default=0.0),
        last_answered_at=max((result.last_answered_at for result in results), default=0.0),
        latencies_ms=[latency for result in results for latency in result.latencies_ms],
        statuses=statuses,
        sids=[sid for result in results for sid in result.sids],
        errors=[error for result in results for error in result.errors][:20],
        loop_lag_p99_ms=max((result.loop_lag_p99_ms for result in results), default=0.0),
        loop_lag_max_ms=max((result.loop_lag_max_ms for result in results), default=0.0),
        cpu_seconds=sum(result.cpu_seconds for result in results),
        cpu_shares=[share for result in results for share in result.cpu_shares],
    )


def _share(total: int, shards: int, index: int) -> int:
    """Shard ``index``'s part of ``total`` (the first ones take one more when it does not divide)."""
    return total // shards + (1 if index < total % shards else 0)


def _global(make: Callable[..., bytes], args: tuple[Any, ...], index: int, shards: int, i: int, target: str) -> bytes:
    return make(index + i * shards, target, *args)


def _shard(index: int, shards: int, targets: list[str], make: Callable[..., bytes], args: tuple[Any, ...],
           count: int, concurrency: int, timeout: float, deadline: float | None, start: Any, results: Any) -> None:
    """One generator process of :func:`run_sharded`: ready, wait for the others, send, and put its result."""
    import traceback

    try:
        start.wait(SHARDS_START_TIMEOUT)
        result = run_async(run(targets, partial(_global, make, args, index, shards), count=count,
                               concurrency=max(1, concurrency), timeout=timeout, deadline=deadline))
    except BaseException:
        results.put(traceback.format_exc())
        raise
    results.put((index, result))
