"""What a batch's rows cost on PostgreSQL, sent as one JSON document or as an array per column:
``python -m bench.batch_cost [--postgres-url URL]``.

Writes batches of Loft's own rows (each message of a batch and a job for it, as a create batch writes them
through :func:`loft.db.engine.Conn.insert_rows`, then the attempts of its two status callbacks, ``sent`` and
``delivered``, as the callbacks' records write them through :func:`loft.webhooks.attempts.record_rows`) into a
fresh database, alternating the two forms of
:func:`loft.db.postgres._unnested` (the document, and the arrays it falls back to for a column JSON does not
carry) so that the machine's drift spreads over both, and prints the CPU per message of this process (Loft's
side: building and encoding the parameters) and of the database's backends (reading them, inserting), from
``/proc``. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from typing import Any

from bench import cpu, procs
from bench.scenarios import _admin, database_url

ROUNDS = 300
BATCH = 16


def _cpu_seconds(pids: list[int]) -> float:
    return sum(seconds for seconds in map(procs.cpu_seconds, pids) if seconds is not None)


async def _measure(url: str, name: str, forms: list[str]) -> list[tuple[str, float, float]]:
    from loft.config import Settings
    from loft.db import postgres
    from loft.db.engine import open_database
    from loft.delivery import outbox
    from loft.kit import dates
    from loft.messages.service import _INSERT, _row
    from loft.webhooks import attempts

    database = open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    await database.migrate()
    settings = Settings()
    carried = postgres._CARRIED
    measured = []
    try:
        for form in forms:
            # The arrays: what _unnested sends when a column's type is not one JSON carries.
            postgres._CARRIED = carried if form == "document" else ()
            backends = cpu.postgres_processes(name)[0]
            before, before_backends = time.process_time(), _cpu_seconds(backends)
            for _ in range(ROUNDS):
                moment = dates.now()
                rows = [_row(settings, account_sid="AC" + "b3" * 16, direction="outbound-api",
                             from_="+14155550100", to=f"+1650253{n:04d}", body="Your code is 482913.",
                             mms=False, num_media=0, status="queued", status_callback="http://127.0.0.1:9/callbacks",
                             status_callback_method="POST", application_sid=None, validity_period=36000, options={},
                             moment=moment) for n in range(BATCH)]
                async with database.write() as conn:
                    await conn.insert_rows(_INSERT, rows)
                    await outbox.enqueue_rows(conn, [
                        outbox.NewJob(outbox.SEND, row["sid"], row["account_sid"],
                                      lease=outbox.Lease("bench", dates.real_now())) for row in rows])
                async with database.write() as conn:
                    await attempts.record_rows(conn, [attempt for row in rows for status in ("sent", "delivered")
                                                      for attempt in _attempts(row, status)])
            backends = sorted(set(backends) | set(cpu.postgres_processes(name)[0]))
            per_message = 1e6 / (ROUNDS * BATCH)
            measured.append((form, (time.process_time() - before) * per_message,
                             (_cpu_seconds(backends) - before_backends) * per_message))
    finally:
        postgres._CARRIED = carried
        await database.dispose()
    return measured


def _attempts(message: dict[str, Any], status: str) -> list[dict[str, Any]]:
    """The attempt log's rows of a status callback of ``message`` answered at once, its request made as Loft
    makes it (:func:`loft.webhooks.status_callbacks._request`)."""
    from loft.delivery import outbox
    from loft.webhooks import attempts, sender, status_callbacks

    job = outbox.Job(0, outbox.CALLBACK, message["sid"], message["account_sid"],
                     {"url": message["status_callback"]}, attempts=1)
    request = status_callbacks._request(job, {"status": status, "token": f"{message['sid']}-{status}"},
                                        (message["from_addr"], message["to_addr"]), auth_token="")
    outcome = sender.Outcome(attempts=[sender.Attempt(1, request.url, "POST", 204, 1, "", None, None, None)],
                             ok=True, status_code=204, body="", content_type=None)
    return attempts.rows(account_sid=message["account_sid"], message_sid=message["sid"],
                         kind=attempts.STATUS_CALLBACK, request=request, outcome=outcome)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pairs", type=int, default=3, help="alternations of the two forms (default 3)")
    args = parser.parse_args()
    os.environ.update(LOFT_SECRET_KEY=procs.SECRET_KEY, LOFT_DATA_DIR=tempfile.mkdtemp(prefix="loft-batch-cost-"))
    name = f"loft_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        results: list[Any] = asyncio.run(_measure(database_url(args.postgres_url, name), name,
                                                  ["document", "arrays"] * args.pairs))
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
    print(f"{BATCH}-row batches of a message and its job, then of its callbacks' attempts, {ROUNDS} per measurement; "
          "CPU per message (µs):")
    for form, loft, backends in results:
        print(f"  {form:8s}  Loft {loft:6.1f}  PostgreSQL's backends {backends:6.1f}  both {loft + backends:6.1f}")


if __name__ == "__main__":
    main()
