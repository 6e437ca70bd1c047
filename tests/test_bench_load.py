"""The bench's load for layouts larger than one generator can drive (bench/closedloop.py, bench/scenarios.py):
requests spread over several generator processes, each sent once, and callbacks spread over several receivers,
read back as one. Real processes: spawned generators, ``bench.receiver`` servers on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import closedloop, scenarios
from bench.client import build


def callback(i: int, target: str, tag: str) -> bytes:
    """Request ``i``: a ``delivered`` callback for a SID made of ``tag`` and ``i`` (the receivers record it)."""
    if len(tag) != 4:
        raise ValueError(f"a tag has 4 characters, not {tag!r}")
    return build("POST", target, form=[("MessageSid", f"SM{tag}{i:028d}"), ("MessageStatus", "delivered")])


@pytest.fixture()
def receivers(tmp_path: Path) -> Iterator[scenarios.Receivers]:
    started = [scenarios.Receiver(tmp_path) for _ in range(2)]
    try:
        for receiver in started:
            receiver.start()
        yield scenarios.Receivers(started)
    finally:
        for receiver in started:
            receiver.stop()


def test_sharded_generators_send_each_request_once_and_their_results_merge(receivers: scenarios.Receivers) -> None:
    receivers.reset()
    count, shards = 301, 3
    sent = closedloop.run_sharded(list(receivers.callback_urls), callback, ("abcd",), count=count, concurrency=8,
                                  shards=shards, deadline=time.monotonic() + 60)

    # Every index once, whichever process sent it, over both receivers.
    seen = receivers.statuses()
    assert sorted(seen) == sorted(f"SMabcd{i:028d}" for i in range(count))
    assert all(statuses == ["delivered"] for statuses in seen.values())
    stats = receivers.stats()
    assert stats["delivered_messages"] == count and stats["total"] == count
    assert stats["by_status"] == {"delivered": count}
    assert all(receiver.stats()["total"] > 0 for receiver in receivers.receivers)  # both received some
    # One result for all: every answer counted, from the first request to the last answer, a CPU share per process.
    assert sent.count == count and sent.statuses == {"204": count} and len(sent.latencies_ms) == count
    assert 0 < sent.first_sent_at <= sent.last_answered_at
    assert len(sent.cpu_shares) == shards
    assert sent.cpu_seconds > 0


def test_a_generator_that_fails_fails_the_run(receivers: scenarios.Receivers) -> None:
    with pytest.raises(RuntimeError, match="a generator process failed"):
        # A tag callback() refuses: every shard's first request raises in its process.
        closedloop.run_sharded(list(receivers.callback_urls), callback, ("toolong",), count=4, concurrency=2, shards=2,
                               deadline=time.monotonic() + 30)


def test_the_work_is_shared_out_whole() -> None:
    assert [closedloop._share(10, 3, index) for index in range(3)] == [4, 3, 3]
    assert sum(closedloop._share(3_000 * 8, 4, index) for index in range(4)) == 24_000


def test_larger_layouts_get_more_generators_and_receivers_where_there_are_cores_for_them() -> None:
    assert [scenarios.helpers_for(apis, cores=16) for apis in (1, 2, 4, 8)] == [1, 1, 2, 4]
    assert [scenarios.helpers_for(apis, cores=2) for apis in (1, 2, 4, 8)] == [1, 1, 1, 1]
    assert scenarios.helpers_for(8, cores=8) == 2
