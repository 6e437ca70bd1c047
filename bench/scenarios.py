"""The scenarios: each starts its own processes on a fresh data dir (or database), measures, stops them, and
returns a plain dict of raw results (what ``bench/results/*.json`` holds for one run).

- ``create``: wrk against the bare ASGI baseline just before and just after ``loft serve``, in the same run, then
  the open-loop generator at half of Loft's saturating rate.
- ``e2e``: N messages with a StatusCallback, from the first create to the last ``delivered`` callback.
- ``list``: filtered list pages (To + DateSent range) over a large seeded database, page 1 and deep pages.
- ``e2e-pg``: the e2e scenario on a fresh PostgreSQL database, the same layout of ``loft serve`` as on SQLite.
- ``scaleout``: the e2e scenario on PostgreSQL with 1 API + 1 worker process, then 2 + 2.

The end-to-end scenarios also measure the CPU time each message costs: every Loft process, and on PostgreSQL
the backends serving the scenario's database (:mod:`bench.cpu`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from bench import closedloop, locks, openloop, procs, seed, wrk
from bench import cpu as bench_cpu
from bench.client import Connection, address, basic_auth, build, run_async
from bench.stats import percentile

API = f"/2010-04-01/Accounts/{procs.ACCOUNT_SID}"
AUTH = basic_auth(procs.ACCOUNT_SID, procs.AUTH_TOKEN)
#: Twilio's magic test sender: accepted without owning a number (used if buying a number fails).
MAGIC_FROM = "+15005550006"
#: A 40-character body (one GSM-7 segment).
BODY = "Your code is 482913. It expires in 10 min"
#: Recipients: virtual handsets that Loft's simulator delivers to by default.
RECIPIENTS = [f"+1650253{n:04d}" for n in range(1000)]


@dataclass
class Options:
    quick: bool
    wrk_seconds: int
    warmup_seconds: int
    openloop_seconds: float
    connections: int
    e2e_messages: int
    e2e_concurrency: int
    e2e_timeout: float
    list_messages: int
    list_rounds: int
    list_depth: int
    scale_messages: int
    scale_timeout: float
    postgres_url: str | None
    profile_dir: Path | None
    #: py-spy --native: C and Cython frames too (it pauses the process at each sample).
    profile_native: bool = False
    #: Run the create scenario's server with LOFT_WORKERS=false: the API alone, nothing delivered meanwhile.
    create_without_worker: bool = False
    #: LOFT_PROCESSES of the create and list servers, LOFT_WORKER_PROCESSES of those and the end-to-end ones (None:
    #: Loft's default).
    processes: int | None = None
    worker_processes: int | None = None
    #: LOFT_PROCESSES of the end-to-end servers, SQLite's and PostgreSQL's alike (None: Loft's default, one).
    e2e_processes: int | None = None
    #: The scale-out scenario's layouts: N for N API processes + N workers, 1 first (efficiency is relative to it).
    scale_layouts: tuple[int, ...] = (1, 2, 4)
    say: Callable[[str], None] = print
    #: Peak RSS (MB) of every ``loft serve`` process, by scenario, filled as scenarios run.
    rss: dict[str, list[float]] = field(default_factory=dict)


# Helpers ---------------------------------------------------------------------------------------------------


def loft_config(options: Options, data_dir: Path, *, end_to_end: bool = False) -> procs.LoftConfig:
    extra = {}
    processes = options.e2e_processes if end_to_end else options.processes
    if processes is not None:
        extra["LOFT_PROCESSES"] = str(processes)
    if options.worker_processes is not None:
        extra["LOFT_WORKER_PROCESSES"] = str(options.worker_processes)
    return procs.LoftConfig(data_dir=data_dir, extra_env=extra)


def buy_number(server: procs.Proc) -> str:
    """Buy a number for the main account through the API (as a user would), or fall back to the magic sender."""
    try:
        answer = httpx.post(f"{server.url}{API}/IncomingPhoneNumbers.json", data={"AreaCode": "415"},
                            auth=(procs.ACCOUNT_SID, procs.AUTH_TOKEN), timeout=30)
        if answer.status_code == 201:
            return str(answer.json()["phone_number"])
    except httpx.HTTPError:
        pass
    return MAGIC_FROM


def create_form(sender: str, i: int, callback: str | None = None) -> list[tuple[str, str]]:
    form = [("To", RECIPIENTS[i % len(RECIPIENTS)]), ("From", sender), ("Body", BODY)]
    if callback:
        form.append(("StatusCallback", callback))
    return form


def outbox_size(database: Path) -> int | None:
    """Jobs left in a SQLite data dir's outbox (read-only, beside the running server)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
    except sqlite3.Error:
        return None


def wait_drained(database: Path, timeout: float) -> tuple[bool, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if outbox_size(database) == 0:
            return True, time.monotonic() - started
        time.sleep(0.25)
    return False, time.monotonic() - started


def wal_mb(database: Path) -> float:
    """Size of SQLite's write-ahead log file beside ``database`` (MB): about a second of writes while they go on;
    it would grow with every write if the log never started again."""
    wal = database.with_name(database.name + "-wal")
    return round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0


def record_rss(options: Options, scenario: str, server: procs.Proc) -> float | None:
    rss = server.peak_rss_mb()
    if rss is not None:
        options.rss.setdefault(scenario, []).append(rss)
    return rss


def problems(*servers: procs.Proc) -> list[str]:
    lines: list[str] = []
    for server in servers:
        lines += [f"{server.name}: {line}" for line in server.log_problems()[:10]]
    return lines


# create ----------------------------------------------------------------------------------------------------


def loft_processes(server: procs.Proc) -> int:
    """How many processes ``loft serve`` runs (itself, its API children and its ``loft worker`` children)."""
    return len(procs.tree(server.pid))


def create(options: Options, run_dir: Path, index: int) -> dict[str, Any]:
    """The create load against ``loft serve`` as configured (``--processes``), and, when that is more than one
    process, against one process too (``one_process``): the equal-CPU target is a one-process figure."""
    config = loft_config(options, run_dir / "create")
    server = config.serve(workers=not options.create_without_worker).start()
    try:
        result = _create_on(options, server, run_dir, run_dir / "create" / "loft.db", index)
    finally:
        server.stop()
    if result["processes"] != 1:
        result["one_process"] = _one_process(options, config, run_dir / "create-1",
                                             delivers=not options.create_without_worker)
    else:
        result["one_process"] = {key: result[key] for key in ("processes", "per_core", "ratio_per_core", "triples",
                                                               "steal_percent")}
    if not options.create_without_worker:
        # The same pair for the API alone (no delivery: LOFT_WORKERS=false): what the target's one process spends
        # on creates, apart from delivering what they created.
        result["api_alone"] = _one_process(options, config, run_dir / "create-api", delivers=False)
    return result


def _one_process(options: Options, config: procs.LoftConfig, data_dir: Path, *, delivers: bool) -> dict[str, Any]:
    """:func:`_equal_cpu` for one ``loft serve`` process configured as ``config`` otherwise, in ``data_dir``;
    ``delivers``: with its in-process worker."""
    one = procs.LoftConfig(data_dir=data_dir,
                           extra_env={**config.extra_env, "LOFT_PROCESSES": "1", "LOFT_WORKER_PROCESSES": "0"})
    server = one.serve(workers=delivers).start()
    try:
        return _equal_cpu(options, server, buy_number(server), data_dir.parent, data_dir / "loft.db",
                          delivers=delivers)
    finally:
        server.stop()


#: Loft's saturated runs in one equal-CPU comparison of a full bench run, each between two of the baseline's.
EQUAL_CPU_LEGS = 3


@dataclass(frozen=True)
class Leg:
    """One saturated ``wrk`` run of an equal-CPU comparison: whose (``baseline`` or ``loft``), what it measured,
    the share of a core the server's processes used (None: not read), and the machine's steal time meanwhile."""

    name: str
    result: wrk.WrkResult
    cpu_percent: float | None
    steal_percent: float | None = None


def _equal_cpu(options: Options, server: procs.Proc, sender: str, run_dir: Path, database: Path, *,
               delivers: bool | None = None) -> dict[str, Any]:
    """``wrk`` (creates from ``sender``) against ``server`` and against the bare ASGI baseline given as many
    processes (equal means to spend), with the CPU each used while saturated: the baseline before and after each
    of Loft's runs (B-L-B-L-B-L-B in a full run, B-L-B quick), so that each Loft run is set against what ran
    beside it (:func:`paired`). ``delivers``: whether ``server`` delivers what it creates (default: as the
    options say), which the run waits for after each of Loft's runs."""
    if delivers is None:
        delivers = not options.create_without_worker
    processes = loft_processes(server)
    baseline = procs.script("baseline", "bench.baseline", procs.free_port(), run_dir,
                            "--processes", str(processes)).start()

    def drain(timeout: float) -> tuple[bool, float]:
        return wait_drained(database, timeout) if delivers else (False, 0.0)

    legs_of_loft = 1 if options.quick else EQUAL_CPU_LEGS
    # Shorter runs when there are several, so that the comparison takes about as long as one B-L-B of full runs.
    seconds = options.wrk_seconds if legs_of_loft == 1 else max(3, round(options.wrk_seconds / 2))
    legs: list[Leg] = []
    drained: dict[str, Any] = {}
    try:
        body = urlencode(create_form(sender, 0))
        targets = {"baseline": f"{baseline.url}{API}/Messages.json", "loft": f"{server.url}{API}/Messages.json"}
        for url in targets.values():  # warm up (connections, caches, the JIT-less interpreter's first paths)
            wrk.run(url, auth=AUTH, body=body, connections=options.connections, seconds=options.warmup_seconds)
        drain(30)
        for name in ["baseline"] + ["loft", "baseline"] * legs_of_loft:
            proc = baseline if name == "baseline" else server
            ticks, before, t0 = bench_cpu.machine_ticks(), proc.cpu_seconds(), time.monotonic()
            result = wrk.run(targets[name], auth=AUTH, body=body, connections=options.connections, seconds=seconds)
            after, elapsed = proc.cpu_seconds(), time.monotonic() - t0
            # Share of one core the server's processes used while saturated: well under 100 % per process means
            # they waited (on fsync, on a lock) rather than computed.
            used = 100 * (after - before) / elapsed if before is not None and after is not None else None
            legs.append(Leg(name, result, used, bench_cpu.steal_percent(ticks, bench_cpu.machine_ticks())))
            if name == "loft":
                ok, waited = drain(max(30.0, seconds * 6))
                drained = {"drained": ok, "drain_seconds": round(waited, 2)}
    finally:
        baseline.stop()
    return {"processes": processes, **paired(legs), "after_saturation": drained}


@dataclass(frozen=True)
class _Triple:
    """A Loft run and the baseline runs just before and after it, compared."""

    bases: tuple[Leg, Leg]
    loft: Leg
    base_rps: float
    base_cpu: float | None
    per_core: dict[str, float | None]
    ratio: float
    ratio_per_core: float | None
    steal_percent: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"ratio_per_core": self.ratio_per_core, "ratio": self.ratio, "per_core": self.per_core,
                "loft_cpu_percent": self.loft.cpu_percent, "steal_percent": self.steal_percent}


def paired(legs: list[Leg]) -> dict[str, Any]:
    """The equal-CPU comparison of legs run B-L-B-L-…-B: each Loft run against the mean of the two baseline runs
    beside it (the machine's speed drifts by tens of per cent within minutes, and the mean of the two is what ran
    beside Loft, whichever way it drifted), and the median of those comparisons by requests/s per core used is
    the result (with its triple's figures), so that one triple the machine disturbed does not decide it. Every
    triple's ratio is kept (``triples``), with the machine's steal time over each."""
    if len(legs) < 3 or len(legs) % 2 == 0 or any(leg.name != ("loft" if index % 2 else "baseline")
                                                   for index, leg in enumerate(legs)):
        raise ValueError("legs must alternate B-L-B…-B")
    per_core = bench_cpu.per_core
    triples = []
    for index in range(1, len(legs), 2):
        bases, loft = (legs[index - 1], legs[index + 1]), legs[index]
        base_rps = sum(leg.result.rps for leg in bases) / 2
        base_cpu = _mean([leg.cpu_percent for leg in bases if leg.cpu_percent is not None])
        base_per_core, loft_per_core = per_core(base_rps, base_cpu), per_core(loft.result.rps, loft.cpu_percent)
        steals = [leg.steal_percent for leg in (*bases, loft) if leg.steal_percent is not None]
        triples.append(_Triple(
            bases, loft, base_rps, base_cpu, {"baseline": _round(base_per_core), "loft": _round(loft_per_core)},
            loft.result.rps / base_rps if base_rps else 0.0,
            (loft_per_core or 0.0) / base_per_core if base_per_core else None, max(steals) if steals else None,
        ))
    ranked = sorted(triples, key=lambda triple: -1.0 if triple.ratio_per_core is None else triple.ratio_per_core)
    middle = ranked[(len(ranked) - 1) // 2]
    steals = [triple.steal_percent for triple in triples if triple.steal_percent is not None]
    return {
        # Requests/s per core used (100 % of a core = 1): the two compared at equal CPU.
        "per_core": middle.per_core,
        "baseline": {"rps": round(middle.base_rps, 1),
                     "before_and_after": [_wrk_dict(leg.result) for leg in middle.bases],
                     "server_cpu_percent": middle.base_cpu},
        "loft": _wrk_dict(middle.loft.result) | {"server_cpu_percent": middle.loft.cpu_percent},
        "ratio": middle.ratio,
        "ratio_per_core": middle.ratio_per_core,
        "triples": [triple.as_dict() for triple in triples],
        "steal_percent": max(steals) if steals else None,
    }


def _create_on(options: Options, server: procs.Proc, run_dir: Path, database: Path, index: int) -> dict[str, Any]:
    """:func:`_equal_cpu`, then a fixed load of half the saturating rate, an optional profile, the log's size."""
    sender = buy_number(server)
    measured = _equal_cpu(options, server, sender, run_dir, database)
    url, body = f"{server.url}{API}/Messages.json", urlencode(create_form(sender, 0))
    rate = max(1.0, measured["loft"]["rps"] / 2)
    requests = [build("POST", url, auth=AUTH, form=create_form(sender, i)) for i in range(1000)]
    generator = os.getpid()  # the open-loop generator runs in this process
    before, generator_before, t0 = server.cpu_seconds(), procs.cpu_seconds(generator), time.monotonic()
    fixed = run_async(openloop.run(url, requests, rate=rate, seconds=options.openloop_seconds, connections=64))
    after, generator_after, elapsed = server.cpu_seconds(), procs.cpu_seconds(generator), time.monotonic() - t0
    profile = None
    if options.profile_dir is not None and index == 0:
        profile = profile_create(options, server, url, body)
    rss = record_rss(options, "create", server)
    return measured | {
        "wal_mb": wal_mb(database),
        "sender": sender,
        "in_process_worker": not options.create_without_worker,
        "body_chars": len(BODY),
        "fixed_rate": {
            "offered_rps": round(rate, 1),
            "achieved_rps": round(fixed.achieved_rps, 1),
            "planned": fixed.planned,
            "completed": fixed.completed,
            "failed": fixed.failed,
            "statuses": fixed.statuses,
            "p50_ms": round(fixed.p(50), 2),
            "p90_ms": round(fixed.p(90), 2),
            "p99_ms": round(fixed.p(99), 2),
            "max_ms": round(max(fixed.latencies_ms, default=0.0), 2),
            #: How late requests left (a busy server holding every connection delays them too).
            "send_lag_p99_ms": round(fixed.lag_p99_ms, 2),
            #: How late the generator's event loop woke up: the generator's own health.
            "generator_loop_lag_p99_ms": round(fixed.loop_lag_p99_ms, 2),
            #: What Loft's processes spent per create at this load: more than at saturation, since its groups
            #: (and every other batch) are smaller; and how busy the machine was, the generator included.
            "cpu_us_per_create": (round(1e6 * (after - before) / fixed.completed)
                                  if before is not None and after is not None and fixed.completed else None),
            "loft_cpu_percent": (round(100 * (after - before) / elapsed, 1)
                                 if before is not None and after is not None else None),
            "generator_cpu_percent": (round(100 * (generator_after - generator_before) / elapsed, 1)
                                      if generator_before is not None and generator_after is not None else None),
        },
        "peak_rss_mb": rss,
        "profile": profile,
        "problems": problems(server),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _wrk_dict(result: wrk.WrkResult) -> dict[str, Any]:
    return {"rps": round(result.rps, 1), "requests": result.requests, "seconds": round(result.seconds, 2),
            "p50_ms": round(result.p50_ms, 2), "p99_ms": round(result.p99_ms, 2), "failed": result.failed,
            "statuses": result.statuses, "errors": result.errors, "command": result.command}


def profile_create(options: Options, server: procs.Proc, url: str, body: str) -> dict[str, Any] | None:
    """py-spy on ``loft serve`` during an extra, unmeasured wrk run of the create scenario."""
    seconds = options.wrk_seconds

    def load() -> str:
        under = wrk.run(url, auth=AUTH, body=body, connections=options.connections, seconds=seconds)
        return f"wrk -c{options.connections} POST Messages.json ({under.rps:.0f} requests/s while sampled)"

    return profiled(options, server, "create", seconds, load)


def profiled(options: Options, server: procs.Proc, name: str, seconds: float, load: Callable[[], str]
             ) -> dict[str, Any] | None:
    """py-spy (sampling, not paused: ``--nonblocking``) on ``server`` while ``load()`` runs (extra, unmeasured);
    ``load`` returns what it did, for the summary's title. Writes ``profile-<name>[-quick].{raw.txt,txt}``."""
    import shutil

    from bench import profile as summarise

    spy = shutil.which("py-spy")
    if spy is None:
        options.say("  py-spy is not installed (pip install py-spy): no profile")
        return None
    assert options.profile_dir is not None
    options.profile_dir.mkdir(parents=True, exist_ok=True)
    stem = f"profile-{name}-quick" if options.quick else f"profile-{name}"
    raw = options.profile_dir / f"{stem}.raw.txt"
    spy_proc = subprocess.Popen([spy, "record", "--pid", str(server.pid), "--subprocesses", "--duration", str(round(seconds) + 1),
                                 "--native" if options.profile_native else "--nonblocking", "--rate", "250", "--format", "raw",
                                 "-o", str(raw)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        before, t0 = server.cpu_seconds(), time.monotonic()
        what = load()
        after, t1 = server.cpu_seconds(), time.monotonic()
        _, err = spy_proc.communicate(timeout=seconds + 60)
    finally:
        if spy_proc.poll() is None:
            spy_proc.kill()
            spy_proc.wait()
    if not raw.exists():
        options.say(f"  py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
        return None
    summary_path = options.profile_dir / f"{stem}.txt"
    summary = summarise.summary(raw, title=f"loft serve under {what}",
                                cpu_percent=100 * (after - before) / (t1 - t0)
                                if before is not None and after is not None else None)
    summary_path.write_text(summary)
    return {"raw": str(raw), "summary": str(summary_path), "while_sampled": what}


# end to end ------------------------------------------------------------------------------------------------


class Receiver:
    """The callback receiver process (``bench.receiver``), shared by the scenarios of a run."""

    def __init__(self, log_dir: Path) -> None:
        self.proc = procs.script("receiver", "bench.receiver", procs.free_port(), log_dir)

    def start(self) -> Receiver:
        self.proc.start()
        return self

    @property
    def callback_url(self) -> str:
        return f"{self.proc.url}/status"

    def reset(self) -> None:
        httpx.post(f"{self.proc.url}/reset", timeout=10)

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(f"{self.proc.url}/stats", timeout=30).json()
        return data

    def statuses(self) -> dict[str, list[str]]:
        data: dict[str, list[str]] = orjson.loads(httpx.get(f"{self.proc.url}/sids", timeout=60).content)
        return data

    def cpu_seconds(self) -> float | None:
        return self.proc.cpu_seconds()

    def stop(self) -> None:
        self.proc.stop()


class Receivers:
    """Callbacks spread over several receivers (message ``i``'s ``StatusCallback`` is receiver ``i % n``'s), read
    back as one: a receiver, like a generator, is one Python process, and one core."""

    def __init__(self, receivers: Sequence[Receiver]) -> None:
        self.receivers = list(receivers)

    @property
    def callback_urls(self) -> tuple[str, ...]:
        return tuple(receiver.callback_url for receiver in self.receivers)

    def reset(self) -> None:
        for receiver in self.receivers:
            receiver.reset()

    def stats(self) -> dict[str, Any]:
        each = [receiver.stats() for receiver in self.receivers]
        by_status: Counter[str] = Counter()
        for stats in each:
            by_status.update(stats["by_status"])
        lasts = [stats["last_delivered_at"] for stats in each if stats["last_delivered_at"] is not None]
        return {"total": sum(stats["total"] for stats in each), "by_status": dict(by_status),
                "delivered_messages": sum(stats["delivered_messages"] for stats in each),
                "unsigned": sum(stats["unsigned"] for stats in each),
                "last_delivered_at": max(lasts) if lasts else None}

    def statuses(self) -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        for receiver in self.receivers:
            for sid, statuses in receiver.statuses().items():
                seen.setdefault(sid, []).extend(statuses)  # (a message's callbacks all go to one receiver)
        return seen

    def cpu_seconds(self) -> list[float | None]:
        return [receiver.cpu_seconds() for receiver in self.receivers]


def helpers_for(apis: int, cores: int | None = None) -> int:
    """Generator and receiver processes for a layout of ``apis`` API processes on a machine of ``cores`` (default:
    this one's): one per two API processes, each then well under a core at an efficiency of 1 (about 0.18 of a
    core per 1,400 messages a second for a generator on the bench machine, 0.13 for a receiver); but one per four
    cores at most, so that they leave the cores to Loft where there are few: on 2 cores one of each (a fifth of a
    core each there), as in earlier runs, and on 16 cores four of each for 8 + 8."""
    return max(1, min(apis // 2, (cores or os.cpu_count() or 1) // 4))


def create_request(i: int, target: str, sender: str, callbacks: tuple[str, ...]) -> bytes:
    """Request ``i`` of :func:`_deliver`'s load: a create from ``sender`` with receiver ``i % n``'s callback."""
    return build("POST", f"{target}{API}/Messages.json", auth=AUTH,
                 form=create_form(sender, i, callbacks[i % len(callbacks)]))


def _deliver(options: Options, receivers: Receiver | Receivers, targets: list[str], sender: str, *, count: int,
             timeout: float, meter: bench_cpu.Meter | None = None, concurrency: int | None = None,
             generators: int = 1) -> dict[str, Any]:
    """Send ``count`` messages with a StatusCallback (alternating over ``targets``, from ``generators``
    processes, each message's callbacks to one of ``receivers``) and wait for every ``delivered`` callback;
    check that each created message got exactly one. With ``meter``, the CPU time of the processes it watches,
    from the first create to the last callback (and the grace after it)."""
    receiving = receivers if isinstance(receivers, Receivers) else Receivers([receivers])
    receiving.reset()
    if meter is not None:
        meter.start()
    receiver_cpu = receiving.cpu_seconds()
    started = time.monotonic()
    deadline = started + timeout
    sent = closedloop.run_sharded(targets, create_request, (sender, receiving.callback_urls), count=count,
                                  concurrency=concurrency or options.e2e_concurrency, shards=generators,
                                  deadline=deadline)
    created = set(sent.sids)
    stats = receiving.stats()
    while stats["delivered_messages"] < len(created) and time.monotonic() < deadline:
        time.sleep(0.2)
        stats = receiving.stats()
    # A short grace period: a duplicate callback would arrive just after the last one expected.
    time.sleep(0.5)
    usage = meter.stop() if meter is not None else None
    receiver_at_end, ended = receiving.cpu_seconds(), time.monotonic()
    # Each receiver's CPU over the run: the busiest one is what may have limited it.
    receiver_used = [after - before for before, after in zip(receiver_cpu, receiver_at_end)
                     if before is not None and after is not None]
    stats = receiving.stats()
    seen = receiving.statuses()
    delivered_once = sum(1 for sid in created if seen.get(sid, []).count("delivered") == 1)
    delivered_twice = sum(1 for sid in created if seen.get(sid, []).count("delivered") > 1)
    missing = len(created) - delivered_once - delivered_twice
    unknown = sum(1 for sid in seen if sid not in created)
    first = sent.first_sent_at
    last = stats["last_delivered_at"]
    complete = len(created) == count and missing == 0 and delivered_twice == 0
    if complete and last:
        elapsed = last - first
        rate = count / elapsed
    else:  # timed out or lost callbacks: what got through, over the whole allowed time (a lower bound)
        elapsed = (last or time.monotonic()) - first if first else 0.0
        rate = (delivered_once + delivered_twice) / elapsed if elapsed > 0 else 0.0
    return ({} if usage is None else {"cpu": usage.as_dict(len(created))}) | {
        "messages": count,
        "created": len(created),
        "create_failed": sent.failed,
        "create_errors": sent.errors[:5],
        "create_rps": round(sent.rps, 1),
        "create_seconds": round(sent.seconds, 2),
        "create_p50_ms": round(sent.p(50), 2),
        "create_p99_ms": round(sent.p(99), 2),
        "generator_loop_lag_p99_ms": round(sent.loop_lag_p99_ms, 2),
        "generators": generators,
        "generator_cpu_seconds": round(sent.cpu_seconds, 2),
        # The bench's own processes, busy for the layout's whole run: near 1 (one core), they are what limits it.
        # With several, the busiest one's.
        "generator_cpu_share": round(max(sent.cpu_shares), 3) if sent.cpu_shares else None,
        "receivers": len(receiving.receivers),
        "receiver_cpu_seconds": round(sum(receiver_used), 2) if receiver_used else None,
        "receiver_cpu_share": round(max(receiver_used) / (ended - started), 3) if receiver_used else None,
        "delivered_once": delivered_once,
        "delivered_more_than_once": delivered_twice,
        "missing_delivered": missing,
        "callbacks_for_unknown_messages": unknown,
        "callbacks_total": stats["total"],
        "callbacks_by_status": stats["by_status"],
        "unsigned_callbacks": stats["unsigned"],
        "complete": complete,
        "timed_out": not complete and time.monotonic() >= deadline,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(rate, 1),
    }


def e2e(options: Options, run_dir: Path, index: int, receiver: Receiver) -> dict[str, Any]:
    server = loft_config(options, run_dir / "e2e", end_to_end=True).serve().start()
    try:
        sender = buy_number(server)
        result = _deliver(options, receiver, [server.url], sender, count=options.e2e_messages,
                          timeout=options.e2e_timeout, meter=bench_cpu.Meter([server]))
        result["sender"] = sender
        result["concurrency"] = options.e2e_concurrency
        result["database"] = "sqlite"
        result["processes"] = loft_processes(server)
        result["peak_rss_mb"] = record_rss(options, "e2e", server)
        result["wal_mb"] = wal_mb(run_dir / "e2e" / "loft.db")
        result["problems"] = problems(server)
        if options.profile_dir is not None and index == 0:
            result["profile"] = profiled(options, server, "e2e", 8, lambda: _profiled_e2e(options, receiver, server,
                                                                                            sender))
        return result
    finally:
        server.stop()


def _profiled_e2e(options: Options, receiver: Receiver, server: procs.Proc, sender: str) -> str:
    count = max(2000, options.e2e_messages // 4)
    result = _deliver(options, receiver, [server.url], sender, count=count, timeout=options.e2e_timeout)
    return f"{count:,} messages end to end ({result['messages_per_second']:.0f} messages/s while sampled)"


def e2e_postgres(options: Options, run_dir: Path, index: int, receiver: Receiver) -> dict[str, Any]:
    """The e2e scenario on a fresh PostgreSQL database: the same messages, the same receiver, the same layout of
    ``loft serve`` (``--e2e-processes``, ``--worker-processes``) as on SQLite; CPU counts the database's backends.
    Then SQLite's e2e once more (``sqlite_after``: see :func:`_sqlite_after`)."""
    assert options.postgres_url
    name = f"loft_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(options.postgres_url, f'CREATE DATABASE "{name}"'))
    config = loft_config(options, run_dir / "e2e-pg", end_to_end=True)
    config.database_url = database_url(options.postgres_url, name)
    server = config.serve()
    try:
        server.start()
        sender = buy_number(server)
        url = database_url(options.postgres_url, name)
        before = asyncio.run(_database_counts(url, name))
        result = _deliver(options, receiver, [server.url], sender, count=options.e2e_messages,
                          timeout=options.e2e_timeout, meter=bench_cpu.Meter([server], name))
        after = asyncio.run(_database_counts(url, name))
        # What PostgreSQL did per message: transactions committed, rows written (its own statistics, which it
        # reports with a delay of up to a second or so: approximate).
        result |= _per_message(before, after, result["created"])
        result["sender"] = sender
        result["concurrency"] = options.e2e_concurrency
        result["database"] = "postgresql"
        result["processes"] = loft_processes(server)
        result["peak_rss_mb"] = record_rss(options, "e2e-pg", server)
        result["problems"] = problems(server)
        if options.profile_dir is not None and index == 0:
            result["profile"] = profiled(options, server, "e2e-pg", 8,
                                         lambda: _profiled_e2e(options, receiver, server, sender))
    finally:
        server.stop()
        asyncio.run(_admin(options.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    result["sqlite_after"] = _sqlite_after(options, run_dir, receiver)
    return result


def _sqlite_after(options: Options, run_dir: Path, receiver: Receiver) -> dict[str, Any]:
    """The e2e scenario on SQLite again, right after PostgreSQL's: with the e2e run before it, SQLite's CPU per
    message on both sides of PostgreSQL's (A-B-A), so that the machine's drift between runs, tens of per cent
    within minutes here, does not pass for a difference between the databases."""
    server = loft_config(options, run_dir / "e2e-after", end_to_end=True).serve().start()
    try:
        measured = _deliver(options, receiver, [server.url], buy_number(server), count=options.e2e_messages,
                            timeout=options.e2e_timeout, meter=bench_cpu.Meter([server]))
        return {key: measured[key] for key in ("complete", "cpu", "messages_per_second", "created")}
    finally:
        server.stop()


# list ------------------------------------------------------------------------------------------------------


def list_pages(options: Options, run_dir: Path, index: int, seeded: seed.Seeded) -> dict[str, Any]:
    data_dir = run_dir / "list"
    seed.copy_to(seeded, data_dir)
    server = loft_config(options, data_dir).serve().start(timeout=120)
    try:
        to = seeded.heavy[0]
        after = (seeded.start + timedelta(days=60)).date().isoformat()
        before = (seeded.end - timedelta(days=30)).date().isoformat()
        query = urlencode([("To", to), ("DateSent>", after), ("DateSent<", before), ("PageSize", "50")])
        first_url = f"{server.url}{API}/Messages.json?{query}"
        return run_async(_measure_list(options, server, first_url)) | {
            "stored_messages": seeded.count,
            "filter": {"To": to, "DateSent>": after, "DateSent<": before, "PageSize": 50},
            "peak_rss_mb": record_rss(options, "list", server),
            "problems": problems(server),
        }
    finally:
        server.stop()


async def _measure_list(options: Options, server: procs.Proc, first_url: str) -> dict[str, Any]:
    host, port = address(server.url)
    conn = Connection(host, port)
    try:
        async def get(url: str) -> tuple[float, dict[str, Any]]:
            started = time.monotonic()
            status, body = await conn.request(build("GET", url, auth=AUTH))
            elapsed = (time.monotonic() - started) * 1000
            if status != 200:
                raise RuntimeError(f"GET {url} answered {status}: {body[:300]!r}")
            page: dict[str, Any] = orjson.loads(body)
            return elapsed, page

        # Walk the NextPageUri chain (PageToken) as a client would, once, to learn the deep pages' URIs.
        chain = [first_url]
        walk_ms: list[float] = []
        short_pages = 0
        url: str | None = first_url
        while url is not None and len(chain) <= options.list_depth:
            elapsed, page = await get(url)
            walk_ms.append(elapsed)
            if len(page["messages"]) != 50:
                short_pages += 1
            url = f"{server.url}{page['next_page_uri']}" if page["next_page_uri"] else None
            if url is not None:
                chain.append(url)
        chain = chain[: len(walk_ms)]
        depth = len(chain)
        deep = chain[max(1, depth - 10):] if depth > 1 else chain
        for _ in range(20):  # warm up
            await get(first_url)
            await get(deep[-1])
        page1: list[float] = []
        deep_ms: list[float] = []
        for i in range(options.list_rounds):
            page1.append((await get(first_url))[0])
            deep_ms.append((await get(deep[i % len(deep)]))[0])
        return {
            "depth_reached": depth,
            "deep_pages": [depth - len(deep) + 1, depth],
            "short_pages": short_pages,
            "rounds": options.list_rounds,
            "page1_p50_ms": round(percentile(page1, 50), 2),
            "page1_p99_ms": round(percentile(page1, 99), 2),
            "deep_p50_ms": round(percentile(deep_ms, 50), 2),
            "deep_p99_ms": round(percentile(deep_ms, 99), 2),
            "walk_ms": [round(ms, 2) for ms in walk_ms],
        }
    finally:
        await conn.close()


# scale-out -------------------------------------------------------------------------------------------------


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _database_counts(url: str, name: str) -> dict[str, int]:
    """PostgreSQL's counters for database ``name``, a second later (backends publish them at most once a second,
    and an idle one within ten: approximate)."""
    import asyncpg

    await asyncio.sleep(1.0)
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchrow("SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
                                    "FROM pg_stat_database WHERE datname = $1", name)
        counts = {key: int(found[key] or 0) for key in found.keys()} if found else {}
        # What was written to the log (the whole server's: the bench's database is the only busy one).
        wal = await conn.fetchrow("SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal")
        counts |= {key: int(wal[key]) for key in wal.keys()}
        # Rows written by table (the statistics of the database connected to: ``url`` names ``name``).
        for table in await conn.fetch("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd FROM pg_stat_user_tables"):
            for kind in ("ins", "upd", "del", "hot_upd"):
                counts[f"{table['relname']}.{kind}"] = int(table[f"n_tup_{kind}"] or 0)
        return counts
    finally:
        await conn.close()


def _per_message(before: dict[str, int], after: dict[str, int], messages: int) -> dict[str, Any]:
    """PostgreSQL's work per message between two :func:`_database_counts`: transactions and rows in all, and rows
    written by table (``messages.ins``: rows inserted into ``messages``)."""
    per_message = {key: round((after[key] - before.get(key, 0)) / max(1, messages), 2) for key in after}
    return {"postgres_per_message": {key: value for key, value in per_message.items() if "." not in key},
            "postgres_rows_by_table": {key: value for key, value in per_message.items() if "." in key and value}}


async def postgres_version(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def database_url(admin_url: str, name: str) -> str:
    """``admin_url`` naming database ``name`` instead (its query kept: ``?host=/var/run/postgresql``, a socket)."""
    address, question, query = admin_url.partition("?")
    return address.rsplit("/", 1)[0] + "/" + name + question + query


def scaleout(options: Options, run_dir: Path, index: int, receiver: Receiver) -> dict[str, Any]:
    """Each layout of ``options.scale_layouts``: N ``loft serve`` (``LOFT_WORKERS=false``) + N ``loft worker``
    processes on a fresh PostgreSQL database. On 2 cores 4+4 cannot be faster than 2+2; it is there to measure
    contention (lock waits while twice as many processes as cores claim and change rows: :mod:`bench.locks`)."""
    assert options.postgres_url
    results: dict[str, Any] = {}
    for apis, workers in ((n, n) for n in options.scale_layouts):
        name = f"loft_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(options.postgres_url, f'CREATE DATABASE "{name}"'))
        started: list[procs.Proc] = []
        helpers = helpers_for(apis)
        extra = [Receiver(run_dir) for _ in range(helpers - 1)]  # beside the run's own
        try:
            for more in extra:
                more.start()
            config = procs.LoftConfig(data_dir=run_dir / f"scale-{apis}x{workers}",
                                      database_url=database_url(options.postgres_url, name))
            servers = []
            for _ in range(apis):  # one after the other: the first one migrates the new database
                server = config.serve(workers=False)
                started.append(server)
                servers.append(server.start())
            for n in range(workers):
                worker = config.worker(n)
                started.append(worker)
                worker.start()
            _wait_workers(started)
            sender = buy_number(servers[0])
            # From the admin database: the sampler's own backend is not one of the measured database's.
            sampler = locks.Sampler(options.postgres_url, name)
            url = database_url(options.postgres_url, name)
            before = asyncio.run(_database_counts(url, name))
            sampler.start()
            try:
                # N times the messages and the clients for N pairs: each API process gets the load one gets in
                # 1+1 (its batches as large), and each layout runs about as long (at an efficiency of 1).
                result = _deliver(options, Receivers([receiver, *extra]), [s.url for s in servers], sender,
                                  count=options.scale_messages * apis, concurrency=options.e2e_concurrency * apis,
                                  timeout=options.scale_timeout, meter=bench_cpu.Meter(started, name),
                                  generators=helpers)
                result["concurrency"] = options.e2e_concurrency * apis
            finally:
                waits = sampler.stop()
            after = asyncio.run(_database_counts(url, name))
            result["locks"] = waits
            # Transactions and rows per message: more processes should not mean more of either (a claim that
            # every worker makes on every wake-up would).
            result |= _per_message(before, after, result["created"])
            result["sender"] = sender
            result["peak_rss_mb"] = {proc.name: proc.peak_rss_mb() for proc in started}
            for server in servers:
                record_rss(options, "scaleout", server)
            result["problems"] = problems(*started)
            results[f"{apis}+{workers}"] = result
        finally:
            for proc in reversed(started):
                proc.stop()
            for more in extra:
                more.stop()
            asyncio.run(_admin(options.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return results | scaling(results)


def scaling(results: dict[str, Any]) -> dict[str, Any]:
    """Each layout N+N's messages/s over 1+1's (``speedup``: 2+2's, ``speedup_4``: 4+4's, ``speedup_8``: 8+8's) and
    its efficiency, that ratio over N: 1.0 when N pairs deliver N times what one pair does."""
    one = (results.get("1+1") or {}).get("messages_per_second")
    figures: dict[str, Any] = {"efficiency": {}}
    for layout, result in results.items():
        n = int(layout.split("+")[0])
        if not one or n == 1:
            continue
        speedup = result["messages_per_second"] / one
        figures["speedup" if n == 2 else f"speedup_{n}"] = speedup
        figures["efficiency"][layout] = speedup / n
    return figures


def _wait_workers(started: list[procs.Proc], timeout: float = 60.0) -> None:
    """Until every ``loft worker`` has printed its banner ("Worker for …") and is polling the outbox; a worker
    that prints something else but stays alive for 5 s is taken as started too."""
    deadline = time.monotonic() + timeout
    for proc in started:
        if proc.port is not None:
            continue
        alive_since = time.monotonic()
        while True:
            text = proc.log_path.read_text(errors="replace") if proc.log_path.exists() else ""
            if "worker" in text.lower() or time.monotonic() - alive_since > 5:
                break
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not start within {timeout:.0f} s:\n{proc.log_tail()}")
            time.sleep(0.1)
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.log_tail()}")
