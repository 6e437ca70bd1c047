"""A top-style summary of a py-spy profile (``py-spy record --format raw``: one collapsed stack per line).

Shows where the samples went: by thread kind (the event loop vs. helper threads such as a database executor), by
package (self time), and the functions with the most self and inclusive (self + callees) samples.

    python -m bench.profile bench/results/profile-create.raw.txt
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(path: str) -> str:
    """py-spy already shortens paths found on ``sys.path``; shorten the others the same way."""
    for marker in ("site-packages/", "/lib/python3.11/", f"{ROOT}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _package(path: str) -> str:
    short = _short(path)
    top = short.split("/", 1)[0].removesuffix(".py")
    if top in ("loft", "bench"):
        return ".".join(short.split("/")[:2]).removesuffix(".py")
    if top in sys.stdlib_module_names or top.startswith("<frozen"):
        return f"stdlib: {top}"
    return top


def _process(frame: str) -> str:
    """``process 123:"…/python -m loft worker --data-dir …"`` → ``loft worker``."""
    match = re.search(r" -m (\S+)(?: (\w[\w-]*))?", frame)
    return " ".join(part for part in match.groups() if part) if match else frame.split(":", 1)[0]


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if match is None:
        return frame, "?"
    return f"{match['func']} ({_short(match['file'])})", match["file"]


def summary(raw: Path, *, title: str = "", top: int = 30, cpu_percent: float | None = None) -> str:
    """The summary; ``cpu_percent`` is the process's CPU use while sampled (from /proc), if known."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    processes: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_parse(frame) for frame in stack.split(";") if frame]
        process = "loft serve"
        while frames and frames[0][0].startswith("process "):  # py-spy --subprocesses: the process, then its child
            process = _process(frames.pop(0)[0])
        if not frames:
            continue
        processes[process] += count
        total += count
        root = frames[0][1]
        threads["helper threads (database executor, others)" if "threading.py" in root else "main thread (event loop)"] += count
        leaf, leaf_file = frames[-1]
        own[leaf] += count
        packages[_package(leaf_file)] += count
        for name in {name for name, _ in frames}:
            inclusive[name] += count
    if not total:
        return f"{title}\n(no samples)\n"

    def share(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [title, f"{total} samples (py-spy, all threads; threads it judged idle are not sampled)"]
    if cpu_percent is not None:
        lines.append(f"The process used {cpu_percent:.0f} % of one core meanwhile (user + system time, /proc)")
    lines.append("")
    if len(processes) > 1:
        lines.append("By process:")
        lines += [f"  {share(n)}  {name}" for name, n in processes.most_common()]
        lines.append("")
    lines.append("By thread:")
    lines += [f"  {share(n)}  {name}" for name, n in threads.most_common()]
    lines += ["", "Self time by package:"]
    lines += [f"  {share(n)}  {name}" for name, n in packages.most_common(20)]
    lines += ["", f"Top {top} functions by self time:"]
    lines += [f"  {share(n)}  {name}" for name, n in own.most_common(top)]
    lines += ["", f"Top {top} functions by inclusive time (self + callees), Loft's own code:"]
    loft_only = Counter({name: n for name, n in inclusive.items() if "(loft/" in name})
    lines += [f"  {share(n)}  {name}" for name, n in loft_only.most_common(top)]
    lines += ["", f"Top {top} functions by inclusive time (self + callees), everything:"]
    lines += [f"  {share(n)}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(summary(Path(sys.argv[1]), title=sys.argv[1]))
