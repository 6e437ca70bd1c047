"""A burst of sends through the twilio SDK, cut short by a SIGKILL of the server (the carriers' kill tests)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support import clients
from tests.support.server import LoftServer
from tests.support.waiting import eventually


def send_until_killed(server: LoftServer, auth: tuple[str, str], *, to: str, from_: str, count: int,
                      kill_at: int, senders: int) -> dict[int, str]:
    """Send ``count`` messages (bodies ``burst N``) from ``senders`` threads, SIGKILL ``server`` once ``kill_at``
    were acknowledged (201), and return those the server acknowledged: their SIDs by index."""
    acknowledged: dict[int, str] = {}
    lock = threading.Lock()
    killed = threading.Event()
    local = threading.local()

    def send(index: int) -> None:
        if killed.is_set():
            return
        if not hasattr(local, "client"):
            local.client = clients.sdk(server.base_url, *auth)
        client: Any = local.client
        try:
            sid = client.messages.create(to=to, from_=from_, body=f"burst {index}").sid
        except Exception:  # the server died under the request: not acknowledged
            return
        with lock:
            acknowledged[index] = str(sid)

    with ThreadPoolExecutor(senders) as pool:
        for index in range(count):
            pool.submit(send, index)
        eventually(lambda: len(acknowledged) >= kill_at, timeout=60)
        server.kill()
        killed.set()
    return acknowledged
