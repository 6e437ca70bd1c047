"""What a running Loft holds for its requests and workers: settings, the database, the secret box, one shared
HTTP client (behind the outbound guard), the carriers, and the event that wakes the in-process workers after a
commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request

from loft.accounts.credentials import CredentialCache
from loft.accounts.throttle import Throttle
from loft.config import Settings
from loft.db.engine import Database
from loft.delivery.carriers.hub import Carriers
from loft.kit.crypto import SecretBox

#: Messages whose media one process fetches at once: a burst of MMS holds at most this many times 5 MB.
FETCHING = 8

if TYPE_CHECKING:
    from loft.delivery.worker import Worker


@dataclass(slots=True)
class Loft:
    settings: Settings
    db: Database
    box: SecretBox
    http: httpx.AsyncClient
    carriers: Carriers
    work_ready: asyncio.Event = field(default_factory=asyncio.Event)
    credentials: CredentialCache = field(default_factory=CredentialCache)
    #: Failed authentications of this process (see loft/accounts/throttle.py).
    throttle: Throttle = field(default_factory=lambda: Throttle(0))
    #: Messages whose media this process may be fetching at once (see loft/messages/media.py).
    media_fetches: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(FETCHING))
    #: The worker running in this process, if any: the API hands new sends straight to it.
    worker: Worker | None = None

    def wake(self) -> None:
        """Tell in-process workers that new work was committed (other processes find it by polling)."""
        self.work_ready.set()

    async def close(self) -> None:
        await self.http.aclose()
        await self.db.dispose()


def of(request: Request) -> Loft:
    loft: Loft = request.app.state.loft
    return loft
