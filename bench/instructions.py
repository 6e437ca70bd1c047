"""Instructions per create, counted by callgrind: the create path's cost in a unit that the machine's speed does not
move. CPU time on a shared machine drifts by ±10 % within minutes; these counts repeat within about ±1 %, so a
change of a percent or two shows here long before the timed benchmarks can see it.

Each server runs under ``valgrind --tool=callgrind --instr-atstart=no``: the bare baseline (``bench.baseline``),
``loft serve`` delivering what it creates (its default), and ``loft serve`` with ``LOFT_WORKERS=false`` (the API
alone). Each is warmed up with ``wrk``, then callgrind counts (``callgrind_control -i on`` … ``-i off``) while
one more ``wrk`` run creates (one thread, 32 connections, as the timed benchmark's connections), and the count
is divided by the requests wrk completed. Only user-space instructions count: the kernel's work (sockets, the
log's flush) and time spent waiting do not, and a delivering server's delivery may lag its creates by a few of
the window's requests.

    python -m bench.instructions [--seconds 20] [--only baseline,loft,api]

It needs valgrind (``apt-get install valgrind``) and wrk; a server runs about fifty times slower under callgrind,
so the whole takes about three minutes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

from bench import procs, wrk
from bench.scenarios import API, AUTH, MAGIC_FROM, buy_number, create_form

TARGETS = ("baseline", "loft", "api")
INSTALL_HINT = "callgrind is not installed: install it with `apt-get install valgrind` and run again."
#: The connections of the measured run (the timed create benchmark's).
CONNECTIONS = 32


@dataclass(frozen=True)
class Count:
    target: str
    requests: int
    instructions: int

    @property
    def per_request(self) -> float:
        return self.instructions / self.requests if self.requests else 0.0


def totals(dump: str) -> int:
    """The instructions a callgrind dump counted (its ``totals:`` line, else its ``summary:`` line)."""
    found: dict[str, int] = {}
    for line in dump.splitlines():
        key, _, value = line.partition(":")
        if key in ("totals", "summary") and value.split():
            found[key] = int(value.split()[0])
    if not found:
        raise ValueError("not a callgrind dump: no totals: or summary: line")
    return found["totals"] if "totals" in found else found["summary"]


def _server(target: str, out_dir: Path) -> procs.Proc:
    """The process of ``target``, as the timed benchmarks start it, under callgrind (not started)."""
    port = procs.free_port()
    if target == "baseline":
        plain = procs.script("baseline", "bench.baseline", port, out_dir)
    else:
        plain = procs.LoftConfig(data_dir=out_dir / target).serve(port=port, workers=target == "loft")
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_dir}/cg.{target}"]
    return replace(plain, name=f"{target} under callgrind", argv=[*valgrind, *plain.argv])


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def count(target: str, out_dir: Path, *, seconds: int) -> Count:
    """Instructions per create of ``target`` (one of :data:`TARGETS`)."""
    server = _server(target, out_dir).start(timeout=300)
    try:
        sender = MAGIC_FROM if target == "baseline" else buy_number(server)
        url, body = f"{server.url}{API}/Messages.json", urlencode(create_form(sender, 0))
        wrk.run(url, auth=AUTH, body=body, connections=CONNECTIONS, threads=1, seconds=10)  # warm-up
        _control("-i", "on", str(server.pid))
        measured = wrk.run(url, auth=AUTH, body=body, connections=CONNECTIONS, threads=1, seconds=seconds)
        _control("-i", "off", str(server.pid))
        _control("-d", str(server.pid))
        if measured.failed:
            raise RuntimeError(f"{target}: {measured.failed} of {measured.requests} creates failed: {measured.statuses}")
        dumps = sorted(out_dir.glob(f"cg.{target}.*"))  # the dump asked for: cg.<target>.1
        if not dumps:
            raise RuntimeError(f"{target}: callgrind wrote no dump in {out_dir}")
        return Count(target, measured.requests, totals(dumps[-1].read_text(errors="replace")))
    finally:
        server.stop(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="the measured wrk run (default 20)")
    parser.add_argument("--only", default=",".join(TARGETS), help=f"comma-separated: {', '.join(TARGETS)}")
    args = parser.parse_args()
    targets = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    for tool, hint in (("callgrind_control", INSTALL_HINT), ("wrk", wrk.INSTALL_HINT)):
        if shutil.which(tool) is None:
            sys.exit(hint)
    counts: dict[str, Count] = {}
    with tempfile.TemporaryDirectory(prefix="loft-instructions-") as tmp:
        try:
            for target in targets:
                counts[target] = count(target, Path(tmp), seconds=args.seconds)
                found = counts[target]
                print(f"{target:9} {found.per_request:10,.0f} instructions per create ({found.requests:,} creates)",
                      flush=True)
        finally:
            procs.stop_all()
    base = counts.get("baseline")
    for target in ("loft", "api"):
        if base is not None and target in counts and counts[target].per_request:
            print(f"baseline ÷ {target}: {100 * base.per_request / counts[target].per_request:.1f} %")


if __name__ == "__main__":
    main()
