"""The stored messages of the list scenario: a SQLite database seeded once, then copied for every run.

The database is made the way a user's is: ``loft serve`` starts on an empty data dir (migrations, the pinned
main account) and stops. The messages are then bulk-inserted straight into the file with SQLAlchemy Core
(``loft.db.tables``), far faster than the API could create them. Nothing else is done to the file (no ANALYZE),
so the server reads it as it would read a database that grew through the API.

The result is cached under ``bench/.cache/`` keyed by the schema's Alembic head revision, the number of
messages and the version of this seeder, so a second run starts at once and a migration reseeds.

Distribution (``count`` messages of the main account, over the 365 days before the seeding day):

- 90 % outbound from 20 Loft numbers, 10 % inbound to them;
- 20 % of the messages involve 10 "heavy" correspondents (2 % each), the rest are spread evenly over
  ``count // 20`` others;
- outbound: 94 % delivered, 3 % undelivered (30003), 2 % failed (30008, never sent), 1 % sent;
- creation times are uniformly random, inserted in time order (so ``seq`` follows the dates, as it does when
  the API creates them); ``date_sent`` is one to three seconds after creation.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import procs

CACHE = Path(__file__).resolve().parent / ".cache"
SEEDER_VERSION = 1
BATCH = 20_000
BODIES = (
    "Your verification code is {n:06d}. It expires in 10 minutes.",
    "Reminder: your appointment is tomorrow at {h}:30. Reply C to confirm.",
    "Order #{n} has shipped and will arrive on {d}.",
    "Hi! Your table for {h} is ready. Show this message at the door.",
    "Thanks for your payment of ${h}.{n2:02d}. Receipt: https://example.com/r/{n}",
    "ALERT: unusual sign-in to your account from a new device. Not you? Call us.",
)


@dataclass(frozen=True)
class Seeded:
    path: Path
    count: int
    heavy: list[str]
    senders: list[str]
    start: datetime
    end: datetime
    seconds: float
    cached: bool


def schema_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(procs.ROOT / "loft" / "db" / "migrations")).get_current_head()
    return head or "none"


def ensure(count: int, *, log_dir: Path, say: Any = print) -> Seeded:
    """The seeded database file for ``count`` messages, built now unless cached."""
    key = f"list-{schema_revision()}-{count}-v{SEEDER_VERSION}"
    final = CACHE / key
    meta_path = final / "meta.json"
    if meta_path.exists() and (final / "loft.db").exists():
        meta = json.loads(meta_path.read_text())
        return _seeded(final, meta, cached=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob("list-*"):
        if stale.name.startswith("list-") and stale.name.endswith(f"-{count}-v{SEEDER_VERSION}") and stale != final:
            shutil.rmtree(stale, ignore_errors=True)  # an older schema's database of the same size
    building = CACHE / f"{key}.building-{os.getpid()}"  # (two suites seeding at once do not collide)
    shutil.rmtree(building, ignore_errors=True)
    say(f"seeding {count:,} messages into {final} (once; cached for later runs)…")
    started = time.monotonic()
    server = procs.LoftConfig(data_dir=building).serve(workers=False)
    server.log_path = log_dir / "seed-serve.log"
    server.start()
    server.stop()
    meta = _insert(building / "loft.db", count)
    meta["seconds"] = round(time.monotonic() - started, 1)
    (building / "meta.json").write_text(json.dumps(meta, indent=2))
    for extra in building.glob("*.log"):
        extra.unlink()
    try:
        building.rename(final)
    except OSError:  # another run finished the same database first: use it
        shutil.rmtree(building, ignore_errors=True)
    return _seeded(final, meta, cached=False)


def _seeded(directory: Path, meta: dict[str, Any], *, cached: bool) -> Seeded:
    return Seeded(path=directory / "loft.db", count=meta["count"], heavy=meta["heavy"], senders=meta["senders"],
                  start=datetime.fromisoformat(meta["start"]), end=datetime.fromisoformat(meta["end"]),
                  seconds=meta.get("seconds", 0.0), cached=cached)


def _insert(database: Path, count: int) -> dict[str, Any]:
    from sqlalchemy import create_engine, event, insert

    from loft.db.tables import messages

    rng = random.Random(20100401)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=365)
    span = (end - start).total_seconds()
    senders = [f"+1415555{n:04d}" for n in range(1000, 1020)]
    heavy = [f"+1650555{n:04d}" for n in range(2000, 2010)]
    others = [f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
              for _ in range(max(50, count // 20))]
    offsets = sorted(rng.random() * span for _ in range(count))

    engine = create_engine(f"sqlite:///{database}")

    @event.listens_for(engine, "connect")
    def _fast(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-200000")
        cursor.close()

    def row(i: int) -> dict[str, Any]:
        created = start + timedelta(seconds=offsets[i])
        correspondent = rng.choice(heavy) if rng.random() < 0.2 else rng.choice(others)
        sender = senders[i % len(senders)] if i % 7 else rng.choice(senders)
        inbound = rng.random() < 0.1
        n = rng.randrange(1_000_000)
        body = rng.choice(BODIES).format(n=n, n2=n % 100, h=9 + n % 12, d=(created + timedelta(days=3)).date())
        error: int | None = None
        sent: datetime | None = created + timedelta(seconds=1 + rng.random() * 2)
        if inbound:
            status, direction, from_, to = "received", "inbound", correspondent, sender
            sent = created
        else:
            direction, from_, to = "outbound-api", sender, correspondent
            roll = rng.random()
            status = "delivered" if roll < 0.94 else "undelivered" if roll < 0.97 else "failed" if roll < 0.99 else "sent"
            if status == "undelivered":
                error = 30003
            elif status == "failed":
                error, sent = 30008, None
        return {
            "sid": "SM" + rng.getrandbits(128).to_bytes(16, "big").hex(),
            "account_sid": procs.ACCOUNT_SID,
            "direction": direction,
            "from_addr": from_,
            "to_addr": to,
            "body": body,
            "status": status,
            "num_segments": 1,
            "num_media": 0,
            "price_quote": "-0.00790" if status != "failed" else None,
            "price_unit": "USD",
            "error_code": error,
            "error_message": {30003: "Unreachable destination handset", 30008: "Unknown error"}.get(error or 0),
            "status_callback": None,
            "status_callback_method": "POST",
            "validity_period": 36000,
            "options": {},
            "date_created": created,
            "date_updated": sent or created,
            "date_sent": sent,
        }

    with engine.begin() as conn:
        for first in range(0, count, BATCH):
            conn.execute(insert(messages), [row(i) for i in range(first, min(count, first + BATCH))])
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return {"count": count, "heavy": heavy, "senders": senders, "start": start.isoformat(), "end": end.isoformat(),
            "revision": schema_revision(), "seeder": SEEDER_VERSION}


def copy_to(seeded: Seeded, data_dir: Path) -> None:
    """A fresh data dir holding a copy of the seeded database (the server may write to it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(seeded.path, data_dir / "loft.db")
