"""Job kinds are registered by the features that run them, and found without a central table."""

from __future__ import annotations

import pytest

from loft.delivery import jobs, outbox


def test_every_kind_the_outbox_records_has_its_handler() -> None:
    recorded = {outbox.SEND, outbox.RECEIPT, outbox.REPORT, outbox.CALLBACK, outbox.INBOUND}
    assert recorded <= set(jobs.kinds())
    for kind in recorded:
        assert jobs.handler(kind) is not None


def test_an_unknown_kind_has_no_handler() -> None:
    assert jobs.handler("no-such-kind") is None


def test_a_kind_cannot_get_a_second_handler() -> None:
    first = jobs.handler(outbox.SEND)
    assert first is not None

    async def other(loft: object, job: object) -> None:
        return None

    with pytest.raises(RuntimeError, match="two handlers"):
        jobs.handles(outbox.SEND)(other)
    assert jobs.handler(outbox.SEND) is first
