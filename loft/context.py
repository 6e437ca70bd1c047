"""What a running Loft holds for its requests and workers: settings, the database and the secret box."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from loft.config import Settings
from loft.db.engine import Database
from loft.kit.crypto import SecretBox


@dataclass(slots=True)
class Loft:
    settings: Settings
    db: Database
    box: SecretBox


def of(request: Request) -> Loft:
    loft: Loft = request.app.state.loft
    return loft
