"""bench/instructions.py reads the instructions a callgrind dump counted: its ``totals:`` line, which follows the
costs (a dump asked for with ``callgrind_control -d`` may carry ``summary: 0`` in its header, as callgrind 3.19's
do), else its ``summary:``."""

from __future__ import annotations

import pytest

from bench.instructions import Count, totals

_DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 6994
cmd:  .venv/bin/python -m loft serve --port 20328
part: 1

desc: Trigger: dump

positions: line
events: Ir
summary: 0

ob=(1) /usr/lib/x86_64-linux-gnu/libc.so.6
fl=(1) ./malloc/./malloc/malloc.c
fn=(1) _int_free
0 16059103

totals: 2548390175
"""


def test_the_count_is_the_totals_line_even_after_a_summary_of_zero() -> None:
    assert totals(_DUMP) == 2_548_390_175
    assert Count("loft", 3_670, totals(_DUMP)).per_request == pytest.approx(694_384.3, abs=0.1)


def test_a_dump_without_totals_gives_its_summary_and_anything_else_is_refused() -> None:
    assert totals("events: Ir\nsummary: 1234\n") == 1234
    with pytest.raises(ValueError, match="not a callgrind dump"):
        totals("BENCH_JSON {}\n")
    assert Count("api", 0, 5).per_request == 0.0
