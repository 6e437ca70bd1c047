from __future__ import annotations

import time

from loft.kit import sids


def test_a_new_sid_has_twilio_s_shape() -> None:
    sid = sids.new("SM")
    assert len(sid) == 34
    assert sids.is_sid(sid, "SM")
    assert sid[2:] == sid[2:].lower()


def test_sids_begin_with_their_creation_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    sid = sids.new("SM")
    after = time.time_ns() // 1_000_000
    assert before <= int(sid[2:14], 16) <= after


def test_sids_made_later_sort_after_earlier_ones() -> None:
    made = []
    for _ in range(5):
        made.append(sids.new("MM"))
        time.sleep(0.002)
    assert made == sorted(made)


def test_sids_of_the_same_millisecond_differ_in_80_random_bits() -> None:
    batch = [sids.new("SM") for _ in range(2000)]
    assert len(set(batch)) == len(batch)
    tails = {sid[14:] for sid in batch}
    assert len(tails) == len(batch)
    assert all(len(tail) == 20 for tail in tails)
