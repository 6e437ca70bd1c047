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


#: The key of the running Loft in the application's lifespan state (``loft.app``), which the server copies into
#: every request's scope (``scope["state"]``).
STATE_KEY = "loft"


def of(request: Request) -> Loft:
    """The running Loft: from the request's copy of the lifespan state (a dict look-up), else from the
    application's own state (for a server that keeps no lifespan state)."""
    state = request.scope.get("state")
    loft: Loft | None = state.get(STATE_KEY) if state else None
    if loft is None:
        loft = request.app.state.loft
    assert loft is not None
    return loft
