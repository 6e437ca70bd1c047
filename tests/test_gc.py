"""The garbage collector settings of the long-running commands (loft serve, loft worker)."""

from __future__ import annotations

import subprocess
import sys

from loft import cli


def test_tune_gc_freezes_what_was_loaded_and_collects_the_young_generation_less_often() -> None:
    # In a process of its own: freezing the heap of the test process would change what the other tests see.
    script = ("import gc; from loft import cli; before = gc.get_threshold(); cli.tune_gc(); "
              "print(gc.get_freeze_count() > 10_000, gc.get_threshold()[0], gc.get_threshold()[1:] == before[1:])")
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert answer.stdout.split() == ["True", str(cli.GC_YOUNG_THRESHOLD), "True"]
