"""The status-callback receiver: counts Loft's callbacks by message and status.

A raw ASGI app on uvicorn (its own process, so counting never slows the load generator). Any POST records the
form's ``MessageSid`` and ``MessageStatus`` and answers 204. ``GET /stats`` answers the counts as JSON, with
the ``time.monotonic()`` of the last ``delivered`` callback (CLOCK_MONOTONIC is system-wide on Linux, so the
driver can compare it with its own clock); ``GET /sids`` answers every message's statuses in the order they
arrived (to check that each message was delivered exactly once); ``POST /reset`` forgets everything.

    python -m bench.receiver --port 8091
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import orjson
import uvicorn

Scope = dict[str, Any]
Message = dict[str, Any]


class Counts:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.by_status: Counter[str] = Counter()
        #: message sid → statuses received, in order (a duplicate shows as a repeated status).
        self.statuses: dict[str, list[str]] = {}
        self.first_at: float | None = None
        self.last_delivered_at: float | None = None
        self.unsigned = 0

    def record(self, form: dict[str, str], signed: bool) -> None:
        now = time.monotonic()
        status = form.get("MessageStatus", "?")
        self.by_status[status] += 1
        self.statuses.setdefault(form.get("MessageSid", "?"), []).append(status)
        self.first_at = self.first_at or now
        if status == "delivered":
            self.last_delivered_at = now
        if not signed:
            self.unsigned += 1

    def stats(self) -> dict[str, Any]:
        duplicates = sum(len(seen) - len(set(seen)) for seen in self.statuses.values())
        return {
            "total": sum(self.by_status.values()),
            "by_status": dict(self.by_status),
            "messages": len(self.statuses),
            "delivered_messages": sum(1 for seen in self.statuses.values() if "delivered" in seen),
            "duplicates": duplicates,
            "unsigned": self.unsigned,
            "first_at": self.first_at,
            "last_delivered_at": self.last_delivered_at,
        }


counts = Counts()


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        event: Message = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    status, payload = 204, b""
    if scope["method"] == "GET" and scope["path"] in ("/stats", "/healthz"):
        status, payload = 200, orjson.dumps(counts.stats())
    elif scope["method"] == "GET" and scope["path"] == "/sids":
        status, payload = 200, orjson.dumps(counts.statuses)
    elif scope["path"] == "/reset":
        counts.reset()
    elif scope["method"] == "POST":
        signed = any(name == b"x-twilio-signature" for name, _ in scope["headers"])
        counts.record(dict(parse_qsl(body.decode("utf-8"))), signed)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", proxy_headers=False)


if __name__ == "__main__":
    main()
