"""``python -m bench``: run the scenarios N times, take medians, compare them with the targets, write the report.

    python -m bench            # the full run (3 runs of every scenario), writes docs/benchmarks.md
    python -m bench --quick    # a short smoke run (1 run, small sizes), prints the table only

Runs are interleaved (run 1 of every scenario, then run 2, …) so that a change in the machine's load spreads
over all scenarios. A scenario whose run timed out is not repeated (its figure is then a bound, and repeating
it would only spend the time budget). Before each run, what the suite wrote so far is flushed to the disk
(``os.sync``), so that no scenario is measured while the kernel writes back the last one's files. Every process
the suite starts is stopped on the way out, also after an exception or Ctrl-C, and every PostgreSQL database it
creates is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import machine, procs, report, scenarios, seed, wrk
from bench.scenarios import Options

RESULTS = procs.ROOT / "bench" / "results"
DOC = procs.ROOT / "docs" / "benchmarks.md"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
ALL = ("create", "e2e", "e2e-pg", "list", "scaleout")
#: The scenarios that need PostgreSQL.
POSTGRES = ("e2e-pg", "scaleout")


def _layouts(text: str) -> tuple[int, ...]:
    """``--scale-layouts``: ``1,2,4`` → (1, 2, 4); 1 first (the others are measured against it), each once."""
    try:
        layouts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from None
    if not layouts or layouts[0] != 1 or len(set(layouts)) != len(layouts) or min(layouts) < 1:
        raise argparse.ArgumentTypeError(f"layouts must start with 1 and name each N once: {text!r}")
    return layouts


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="short smoke run: 1 run, small sizes; prints the table, writes bench/results/quick.json")
    parser.add_argument("--runs", type=int, help="runs of each scenario; the table shows medians (default 3, quick 1)")
    parser.add_argument("--only", help=f"comma-separated scenarios to run (default all: {','.join(ALL)})")
    parser.add_argument("--messages", type=int, help="end-to-end messages per run (default 20000, quick 2000)")
    parser.add_argument("--list-messages", type=int,
                        help="messages stored for the list scenario (default 1000000, quick 100000)")
    parser.add_argument("--scale-messages", type=int,
                        help="messages per scale-out layout N+N, times N (default 3000, quick 1000)")
    parser.add_argument("--scale-layouts", type=_layouts, default=(1, 2, 4),
                        help="scale-out layouts: comma-separated N for N API + N worker processes, starting with 1 "
                             "(default 1,2,4; 1,2,4,8 on a 16-core machine, for issue 20's 8+8 efficiency target)")
    parser.add_argument("--seconds", type=int, help="length of each wrk / fixed-rate measurement (default 10, quick 3)")
    parser.add_argument("--concurrency", type=int, default=64, help="async clients of the end-to-end senders (default 64)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES,
                        help=f"a PostgreSQL database to connect to for CREATE/DROP DATABASE (default {DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL scenarios (e2e-pg, scaleout)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile loft serve with py-spy under the create and end-to-end loads (extra, unmeasured runs)")
    parser.add_argument("--profile-native", action="store_true",
                        help="with --profile: py-spy --native (C and Cython frames too, such as a driver's socket "
                             "writes; it pauses the process at each sample, so the profiled run is slower)")
    parser.add_argument("--create-without-worker", action="store_true",
                        help="run the create scenario's server with LOFT_WORKERS=false (the API alone, no delivery)")
    parser.add_argument("--processes", type=int,
                        help="LOFT_PROCESSES of the create and list servers (default: Loft's own)")
    parser.add_argument("--e2e-processes", type=int,
                        help="LOFT_PROCESSES of the end-to-end servers, SQLite's and PostgreSQL's alike (default: "
                             "Loft's own, one; see docs/benchmarks.md)")
    parser.add_argument("--worker-processes", type=int,
                        help="LOFT_WORKER_PROCESSES of the create, end-to-end and list servers (default: Loft's own)")
    parser.add_argument("--budget-minutes", type=float,
                        help="start no new run after this many minutes (default 15, quick 6)")
    parser.add_argument("--write-docs", action="store_true", help="write docs/benchmarks.md even with --quick")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep the run's temporary directory (logs, data dirs)")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    quick = args.quick
    seconds = args.seconds or (3 if quick else 10)
    return Options(
        quick=quick,
        wrk_seconds=seconds,
        warmup_seconds=1 if quick else 2,
        openloop_seconds=float(seconds),
        connections=32,
        e2e_messages=args.messages or (2_000 if quick else 20_000),
        e2e_concurrency=args.concurrency,
        e2e_timeout=60.0 if quick else 120.0,
        list_messages=args.list_messages or (100_000 if quick else 1_000_000),
        list_rounds=100 if quick else 400,
        list_depth=30 if quick else 100,
        scale_messages=args.scale_messages or (1_000 if quick else 3_000),
        scale_layouts=args.scale_layouts,
        scale_timeout=45.0 if quick else 60.0,
        postgres_url=None if args.no_postgres else args.postgres_url,
        profile_dir=RESULTS if args.profile else None,
        profile_native=args.profile_native,
        create_without_worker=args.create_without_worker,
        processes=args.processes,
        worker_processes=args.worker_processes,
        e2e_processes=args.e2e_processes,
    )


def say(text: str) -> None:
    print(text, flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not wrk.available():
        print(wrk.INSTALL_HINT, file=sys.stderr)
        return 2
    options = options_from(args)
    options.say = say
    runs = args.runs or (1 if args.quick else 3)
    budget = 60 * (args.budget_minutes or (6 if args.quick else 15))
    wanted = [name for name in (args.only.split(",") if args.only else ALL) if name]
    unknown = [name for name in wanted if name not in ALL]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)} (choose from {', '.join(ALL)})", file=sys.stderr)
        return 2
    command = "python -m bench" + (" " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else "")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    work = Path(tempfile.mkdtemp(prefix="loft-bench-"))
    began = time.time()  # (wall clock: CLOCK_MONOTONIC stops while a virtual machine is paused)
    started_at = datetime.now(UTC)
    results: dict[str, Any] = {"scenarios": {name: [] for name in wanted}, "skipped": {}, "errors": {}}
    receiver: scenarios.Receiver | None = None
    try:
        postgres_version = None
        needing = [name for name in wanted if name in POSTGRES]
        if needing and options.postgres_url:
            try:
                postgres_version = asyncio.run(scenarios.postgres_version(options.postgres_url))
            except Exception as exc:  # noqa: BLE001 - reported, and the scenarios are skipped
                for name in needing:
                    results["skipped"][name] = f"PostgreSQL at {options.postgres_url} unavailable: {exc}"
                    wanted.remove(name)
        else:
            for name in needing:
                results["skipped"][name] = "--no-postgres"
                wanted.remove(name)
        results["machine"] = machine.describe(postgres_version)
        say(f"Loft benchmarks: {runs} run(s) of {', '.join(wanted)}; logs and data dirs in {work}")
        seeded = None
        if "list" in wanted:
            seeded = seed.ensure(options.list_messages, log_dir=work, say=say)
            results["seed"] = {"messages": seeded.count, "cached": seeded.cached, "seconds": seeded.seconds,
                               "file": str(seeded.path.relative_to(procs.ROOT)),
                               "size_mb": round(seeded.path.stat().st_size / 2**20, 1)}
            if not seeded.cached:
                say(f"  seeded in {seeded.seconds:.0f} s")
        if "e2e" in wanted or "e2e-pg" in wanted or "scaleout" in wanted:
            receiver = scenarios.Receiver(work).start()
        timed_out: set[str] = set()
        took: dict[str, float] = {}
        for index in range(runs):
            for name in wanted:
                if name in timed_out:
                    results["skipped"][name] = "not repeated after a run that timed out"
                    continue
                # Start a run only if it should end within the budget (judging by its previous run).
                if time.time() - began + took.get(name, 0.0) > budget:
                    results["skipped"].setdefault(
                        name, f"runs {index + 1}–{runs} skipped: they would not have ended within the time budget "
                              f"({budget / 60:.0f} min, --budget-minutes)")
                    continue
                run_dir = work / f"run{index + 1}"
                run_dir.mkdir(exist_ok=True)
                say(f"run {index + 1}/{runs}: {name}…")
                # What the suite wrote before (the seeded database, the list scenario's 500 MB copy of it, the
                # last scenario's data dir) goes to the disk now, not while this scenario is measured.
                os.sync()
                t0 = time.monotonic()
                try:
                    if name == "create":
                        outcome = scenarios.create(options, run_dir, index)
                    elif name == "e2e":
                        assert receiver is not None
                        outcome = scenarios.e2e(options, run_dir, index, receiver)
                    elif name == "e2e-pg":
                        assert receiver is not None
                        outcome = scenarios.e2e_postgres(options, run_dir, index, receiver)
                    elif name == "list":
                        assert seeded is not None
                        outcome = scenarios.list_pages(options, run_dir, index, seeded)
                    else:
                        assert receiver is not None
                        outcome = scenarios.scaleout(options, run_dir, index, receiver)
                except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
                    results["errors"].setdefault(name, []).append(
                        f"run {index + 1}: {type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}")
                    say(f"  {name} failed: {type(exc).__name__}: {str(exc)[:500]}")
                    procs.stop_all()
                    continue
                outcome["run"] = index + 1
                outcome["wall_seconds"] = round(time.monotonic() - t0, 1)
                took[name] = time.monotonic() - t0
                results["scenarios"][name].append(outcome)
                say(f"  {report.one_line(name, outcome)}  ({outcome['wall_seconds']:.0f} s)")
                if _timed_out(name, outcome):
                    timed_out.add(name)
        results["rss_by_scenario"] = options.rss
    except KeyboardInterrupt:
        say("interrupted: stopping every process")
        return 130
    finally:
        if receiver is not None:
            receiver.stop()
        procs.stop_all()
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    results["meta"] = {
        "command": command,
        "quick": args.quick,
        "runs": runs,
        "started_at": started_at.isoformat(timespec="seconds"),
        # (wall clock: CLOCK_MONOTONIC stops while a virtual machine is paused)
        "wall_seconds": round((datetime.now(UTC) - started_at).total_seconds(), 1),
        "options": {key: (str(value) if isinstance(value, Path) else value)
                    for key, value in vars(options).items() if key not in ("say", "rss", "postgres_url")},
        "postgres_url": options.postgres_url,
    }
    results["summary"] = report.summarise(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / ("quick.json" if args.quick else "latest.json")
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    report.print_table(results)
    say(f"raw results: {json_path.relative_to(procs.ROOT)}")
    if (not args.quick or args.write_docs) and not args.no_docs:
        DOC.write_text(report.markdown(results, json_path.relative_to(procs.ROOT)))
        say(f"report: {DOC.relative_to(procs.ROOT)}")
    return 0


def _timed_out(name: str, outcome: dict[str, Any]) -> bool:
    if name in ("e2e", "e2e-pg"):
        return bool(outcome.get("timed_out"))
    if name == "scaleout":
        return any(isinstance(v, dict) and v.get("timed_out") for v in outcome.values())
    return False
