"""Running a test's body on a database of the engine, with the test's own tables."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import MetaData

from loft.db.engine import Database


def run_on(database: Database, metadata: MetaData, body: Any) -> Any:
    """Create ``metadata``'s tables in ``database``, await ``body()``, and dispose of the database; what the body
    returned."""

    async def main() -> Any:
        async with database.write() as conn:
            await conn.run_sync(metadata.create_all)
        try:
            return await body()
        finally:
            await database.dispose()

    return asyncio.run(main())
