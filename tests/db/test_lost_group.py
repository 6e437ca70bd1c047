"""SQLite rolls a whole transaction back by itself on some errors (an I/O error, a full disk): the group of writes
sharing it is lost, and every writer of it hears so (503 at the API), none waits forever for a commit that will not
come. Here the disk is "full" for the process: a limit on the size of the files it writes (RLIMIT_FSIZE), in a
process of its own, so that the test runner's files are not limited too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_SCRIPT = r'''
import asyncio, json, resource, sys
from sqlalchemy import text
from loft.db.engine import open_database

BIG = "x" * 3_000_000  # more than SQLite's page cache: its pages go to the log before the COMMIT


async def main(path):
    db = open_database(f"sqlite:///{path}")
    await db.migrate()

    async def create(conn):
        await conn.execute(text("CREATE TABLE blobs (value TEXT)"))

    async def insert(conn):
        await conn.execute(text("INSERT INTO blobs VALUES (:value)"), {"value": BIG})

    async def block():
        async with db.write() as conn:
            await insert(conn)

    await db.submit(create)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    outcomes = await asyncio.gather(*(db.submit(insert) for _ in range(3)), block(), block(),
                                    return_exceptions=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    after = await asyncio.gather(db.submit(insert), block(), return_exceptions=True)
    async with db.read() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM blobs"))).scalar()
    await db.dispose()
    print(json.dumps({"during": [type(o).__name__ + ":" + str(getattr(o, "code", "")) for o in outcomes],
                      "after": [type(o).__name__ for o in after], "rows": rows}))


asyncio.run(main(sys.argv[1]))
'''


def test_writers_of_a_group_sqlite_rolled_back_are_all_told(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path / "loft.db")], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["during"] == ["DatabaseUnavailable:20503"] * 5
    assert outcome["after"] == ["NoneType", "NoneType"]  # the next group starts afresh
    assert outcome["rows"] == 2  # nothing of the lost group was kept
