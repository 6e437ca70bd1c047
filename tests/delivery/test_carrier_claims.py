"""Sends for a network carrier are claimed only by the processes that run it (one SMPP bind set, not one per API
process); sends naming a carrier the carriers file no longer has go to the process that runs every carrier."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from loft.db.engine import open_database
from loft.delivery import outbox
from loft.delivery.carriers import plan
from loft.delivery.carriers.hub import Carriers

FILE = """
[carriers.smsc]
type = "smpp"
host = "127.0.0.1"
port = 2775
system_id = "loft"
password = "secret"
[carriers.shared]
type = "smpp"
host = "127.0.0.1"
port = 2776
system_id = "loft"
password = "secret"
instances = "per-worker"
"""


def _claimed(tmp_path: Path, claims: outbox.Claims) -> set[str]:
    """The subjects a worker with ``claims`` claims among one job for no carrier, one for each carrier of the
    file, and one for a carrier that no longer exists."""

    async def main() -> set[str]:
        db = open_database(f"sqlite:///{tmp_path / 'loft.db'}")
        await db.migrate()
        async with db.write() as conn:
            await outbox.enqueue_rows(conn, [
                outbox.NewJob(outbox.SEND, subject, "AC1", carrier=carrier)
                for subject, carrier in (("anyone", None), ("smsc", "smsc"), ("shared", "shared"),
                                         ("gone", "removed-since"))])
        async with db.write() as conn:
            jobs = await outbox.claim(conn, worker="w", limit=10, lease=timedelta(seconds=60), postgres=False,
                                      claims=claims)
        await db.dispose()
        return {job.subject_sid for job in jobs}

    return asyncio.run(main())


@pytest.mark.parametrize(("claims", "expected"), [
    pytest.param(outbox.Claims(runs=("shared", "smsc"), known=("shared", "smsc"), strays=True),
                 {"anyone", "smsc", "shared", "gone"}, id="runs-every-carrier"),
    pytest.param(outbox.Claims(runs=("shared",), known=("shared", "smsc"), strays=False),
                 {"anyone", "shared"}, id="another-worker"),
    pytest.param(outbox.Claims(runs=(), known=("shared", "smsc"), strays=False), {"anyone"}, id="api-child"),
])
def test_a_worker_claims_the_sends_of_the_carriers_it_runs(tmp_path: Path, claims: outbox.Claims,
                                                            expected: set[str]) -> None:
    assert _claimed(tmp_path, claims) == expected


@pytest.mark.parametrize(("here", "expected"), [
    pytest.param("all", {"anyone", "gone"}, id="runs-every-carrier"),
    pytest.param("per-worker", {"anyone"}, id="another-worker"),
    pytest.param("none", {"anyone"}, id="api-child"),
])
def test_sends_of_a_carrier_that_is_not_up_wait_in_the_outbox(tmp_path: Path, here: str, expected: set[str]) -> None:
    """Before its carriers start (or while their connections are down) a process claims none of their sends: they
    wait, queued, rather than being claimed and put back over and over."""
    carriers = Carriers(plan.parse(FILE, "carriers.toml"), here)
    assert carriers.runs("shared") is (here != "none")
    assert carriers.runs("smsc") is (here == "all")
    assert _claimed(tmp_path, carriers.claims()) == expected


def test_without_carriers_a_worker_claims_everything(tmp_path: Path) -> None:
    carriers = Carriers(plan.SIMULATOR_ONLY, "all")
    assert carriers.claims().condition() is None
    assert _claimed(tmp_path, carriers.claims()) == {"anyone", "smsc", "shared", "gone"}
