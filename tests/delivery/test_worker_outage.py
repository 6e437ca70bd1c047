"""A worker whose claims fail because the database is unavailable backs off, and its failures are logged by the
database's health in a few lines, not a line (or a traceback) per poll."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from loft.app import bootstrap
from loft.config import Settings
from loft.delivery.worker import OUTAGE_BACKOFF_MAX, Worker
from tests.support.tcp_proxy import proxy_to

pytestmark = pytest.mark.postgres

POLL = 0.05
OUTAGE = 3.0


def test_a_worker_backs_off_while_the_database_is_unavailable(tmp_path: Path, own_postgres_database: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    target = urlsplit(own_postgres_database)

    async def main() -> None:
        with proxy_to(target.hostname or "127.0.0.1", target.port or 5432) as database:
            url = urlunsplit((target.scheme, f"{target.username}@127.0.0.1:{database.port}", target.path, "", ""))
            settings = Settings(database_url=url, data_dir=tmp_path, worker_poll_seconds=POLL)
            loft, _ = await bootstrap(settings)
            loft.db.health.remind_every = 0.5
            stop = asyncio.Event()
            running = asyncio.create_task(Worker(loft).run(stop))
            try:
                await asyncio.sleep(0.3)  # a few healthy polls
                database.refuse()
                await asyncio.sleep(OUTAGE)
                database.restore()
                deadline = time.monotonic() + OUTAGE_BACKOFF_MAX + 5
                while "database available again" not in caplog.text and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await running
                await loft.close()

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("loft")]
    assert all(record.exc_info is None for record in caplog.records)
    assert lines[0].startswith("database unavailable: ")
    assert lines[-1].startswith("database available again after ")
    assert all(line.startswith("database ") for line in lines)
    # Polling every 50 ms would have made 60 attempts in 3 s; backing off (50 ms, doubling) makes about 7.
    counted = re.fullmatch(r"database available again after \d+ s \((\d+) delivery transactions failed\)", lines[-1])
    assert counted is not None and 3 <= int(counted[1]) <= 10, lines
