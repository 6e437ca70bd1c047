"""Moving a SQLite file to a revision of Loft's migrations, for the tests of a migration on existing data."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config

from loft.db import engine


def migrate(database: Path, revision: str, *, down: bool = False) -> None:
    """Move the SQLite file ``database`` up to ``revision`` (``head``, or an earlier one on a new file), or ``down``
    to it."""
    sync = sqlalchemy.create_engine(f"sqlite:///{database}")
    try:
        with sync.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(engine._MIGRATIONS))
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        sync.dispose()
