"""The database of a test of the engine: a fresh SQLite file, and a fresh PostgreSQL database (dropped after)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loft.db.engine import Database, open_database
from tests.conftest import fresh_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield open_database(f"sqlite:///{tmp_path / 'engine.db'}")
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield open_database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
