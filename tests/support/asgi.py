"""An ASGI application served by uvicorn on ``loft serve``'s HTTP protocol, in a thread of the test's process (for
tests that must reach inside the running application, which a ``loft serve`` subprocess would not let them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from loft import serving
from tests.support.server import free_port


@contextmanager
def served(app: ASGIApp) -> Iterator[tuple[uvicorn.Server, str]]:
    """``app`` served (lifespan included) for the block: its server and base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            http=serving.protocol(serving.Limits()))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
