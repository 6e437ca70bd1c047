"""Revision 0015: claims read the jobs nobody holds from a partial index of their own, so that their cost does not
grow with the jobs workers hold meanwhile; the takeover of expired leases (once per poll interval per worker) still
finds those. On SQLite and PostgreSQL, against the migrated schema."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from loft.db.engine import Database
from loft.db.tables import outbox
from loft.delivery import outbox as jobs
from loft.kit import dates

HELD = 2000


def _job(subject: str, **fields: Any) -> dict[str, Any]:
    moment = dates.now()
    return {"kind": "send", "subject_sid": subject, "account_sid": "AC" + "0" * 32, "payload": None,
            "available_at": moment - timedelta(seconds=1), "claimed_until": None, "claimed_by": None,
            "attempts": 0, "date_created": moment, "carrier": None} | fields


def test_claims_read_the_unclaimed_jobs_alone_and_a_takeover_finds_expired_leases(database: Database) -> None:
    async def main() -> tuple[list[str], list[str], list[str], str]:
        await database.migrate()
        real = dates.real_now()
        try:
            async with database.write() as conn:
                await conn.execute(insert(outbox), [
                    *(_job(f"held{n}", claimed_by="other", claimed_until=real + timedelta(minutes=5), attempts=1)
                      for n in range(HELD)),
                    *(_job(f"free{n}") for n in range(10)),
                    *(_job(f"later{n}", available_at=dates.now() + timedelta(hours=1)) for n in range(5)),
                    *(_job(f"dead{n}", claimed_by="dead", claimed_until=real - timedelta(seconds=1), attempts=1)
                      for n in range(3)),
                ])
                await conn.execute(text("ANALYZE"))
            postgres = not database.is_sqlite
            async with database.write() as conn:
                fresh = await jobs.claim(conn, worker="w", limit=50, lease=timedelta(minutes=1), postgres=postgres,
                                         takeover=False)
            async with database.write() as conn:
                taken = await jobs.claim(conn, worker="w", limit=50, lease=timedelta(minutes=1), postgres=postgres)
            async with database.write() as conn:
                again = await jobs.claim(conn, worker="w", limit=50, lease=timedelta(minutes=1), postgres=postgres)
            # The plan of the claim itself (its SQL and parameters as it runs them), after those claims.
            parameters = {"moment": dates.now(), "limit": 50, "until": real, "worker": "w"}
            claim = jobs._claim(postgres, jobs.EVERYTHING, False).plan(conn.dialect, tuple(parameters))
            assert claim is not None
            explain = "EXPLAIN QUERY PLAN " if database.is_sqlite else "EXPLAIN "
            async with database.read() as conn:
                rows = await conn.run_sync(lambda sync: sync.exec_driver_sql(
                    explain + claim.sql, tuple(claim.values(parameters))).all())
            plan = "\n".join(str(row[-1]) for row in rows)
            return ([job.subject_sid for job in fresh], [job.subject_sid for job in taken],
                    [job.subject_sid for job in again], plan)
        finally:
            await database.dispose()

    fresh, taken, again, plan = asyncio.run(main())
    assert sorted(fresh) == sorted(f"free{n}" for n in range(10))  # not the held ones, not those due later
    assert sorted(taken) == ["dead0", "dead1", "dead2"]  # a takeover: the expired leases
    assert again == []
    assert "ix_outbox_unclaimed" in plan, plan
