"""What request metrics cost per request: ``python -m bench.metrics_cost``.

Times what :class:`loft.front.Front` adds to a request — two ``perf_counter`` calls and the process's recorder
(:func:`loft.metrics.requests.recorder`) — in one process (plain tallies, made into Prometheus' families when
scraped) and in prometheus-client's multiprocess mode (``--processes``, ``--worker-processes``: a cached pair of
labelled children, a counter increment and a histogram observation, whose values live in memory-mapped files), each
in a fresh interpreter, as the mode is chosen when prometheus-client is imported. ``Front`` also wraps each
request's ``send`` in a closure (an await per response message), not timed here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import timeit

ROUNDS = 200_000

_MEASURE = """
import time, timeit
from loft.metrics.requests import recorder as recorder_of
recorder = recorder_of()
route = "/2010-04-01/Accounts/{account_sid}/Messages"
def once():
    start = time.perf_counter()
    recorder.record(route, "POST", 201, time.perf_counter() - start)
once()
best = min(timeit.repeat(once, number=%d, repeat=5)) / %d
print(f"{best * 1e6:.2f}")
"""


def measure(multiprocess: bool) -> float:
    """Microseconds per request, the best of five runs of :data:`ROUNDS`."""
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    with tempfile.TemporaryDirectory(prefix="loft-metrics-bench-") as directory:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = directory
        done = subprocess.run([sys.executable, "-c", _MEASURE % (ROUNDS, ROUNDS)], env=env, check=True,
                              capture_output=True, text=True)
    return float(done.stdout.strip())


def main() -> None:
    empty = min(timeit.repeat("pass", number=ROUNDS, repeat=5)) / ROUNDS * 1e6
    print(f"request metrics per request, in-memory (one process): {measure(False):.2f} µs")
    print(f"request metrics per request, multiprocess mode:       {measure(True):.2f} µs")
    print(f"(an empty statement, for scale: {empty:.3f} µs)")


if __name__ == "__main__":
    main()
