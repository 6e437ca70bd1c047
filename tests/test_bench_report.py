"""The bench's scale-out figures (bench/scenarios.py, bench/report.py): each layout's efficiency against 1+1, and
issue 20's 8+8 target shown, passed or failed, only when 8+8 was measured."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench import report, run, scenarios


def _layout(rate: float, *, generator: float = 0.3, receiver: float = 0.2) -> dict[str, Any]:
    return {"messages_per_second": rate, "delivered_more_than_once": 0, "callbacks_for_unknown_messages": 0,
            "complete": True, "timed_out": False, "generator_cpu_share": generator, "receiver_cpu_share": receiver}


def _scaleout(rates: dict[str, float]) -> dict[str, Any]:
    layouts = {layout: _layout(rate) for layout, rate in rates.items()}
    return layouts | scenarios.scaling(layouts)


def _rows(*runs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["metric"]: row for row in report.summarise({"scenarios": {"scaleout": list(runs)}})}


def test_each_layout_is_measured_against_one_pair() -> None:
    figures = scenarios.scaling({"1+1": _layout(1000), "2+2": _layout(1800), "4+4": _layout(3000),
                                 "8+8": _layout(6800)})
    assert figures["speedup"] == pytest.approx(1.8) and figures["speedup_4"] == pytest.approx(3.0)
    assert figures["speedup_8"] == pytest.approx(6.8)
    assert figures["efficiency"] == pytest.approx({"2+2": 0.9, "4+4": 0.75, "8+8": 0.85})


def test_the_8_8_target_is_shown_only_when_8_8_ran() -> None:
    rows = _rows(_scaleout({"1+1": 1000, "2+2": 1800, "4+4": 2000}))
    assert not [metric for metric in rows if "8+8" in metric or "8 API" in metric]
    assert rows["4+4 ÷ 1+1"]["display"] == "2.00×"
    assert rows["1+1: load generator's CPU while it ran (1 = one core: near it, the bench limits the figure)"][
        "display"] == "0.30"


@pytest.mark.parametrize(("rate_8", "passes"), [(6800, True), (6400, True), (4000, False)])
def test_the_8_8_efficiency_is_held_to_issue_20_s_target(rate_8: float, passes: bool) -> None:
    rows = _rows(_scaleout({"1+1": 1000, "2+2": 1900, "4+4": 3600, "8+8": rate_8}))
    row = rows["8+8 efficiency: (8+8 ÷ 1+1) ÷ 8"]
    assert row["value"] == pytest.approx(rate_8 / 8000)
    assert (row["target"], row["pass"]) == ("≥ 0.8", passes)


def test_scale_layouts_start_with_one_pair_and_name_each_once() -> None:
    assert run._layouts("1,2,4,8") == (1, 2, 4, 8)
    for bad in ("2,4", "1,2,2", "1,x", "1,0"):
        with pytest.raises(argparse.ArgumentTypeError):
            run._layouts(bad)
