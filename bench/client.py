"""A small, fast HTTP/1.1 keep-alive client for the load generators (asyncio streams, no parsing library).

httpx spends several hundred microseconds of Python per request, so on a 2-core machine a generator built on it
would take CPU from the server it measures and cap the offered load far below Loft's ceiling. This client writes
pre-built request bytes on a kept-alive connection and reads the answer by ``Content-Length`` (or chunked
encoding), which is what uvicorn sends. It is only meant for 127.0.0.1 and for answers it understands.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from bench.stats import percentile

T = TypeVar("T")


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def build(method: str, url: str, *, auth: str | None = None, form: Sequence[tuple[str, str]] | None = None) -> bytes:
    """The bytes of one request: ``url`` is absolute (``http://127.0.0.1:port/path?query``)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: loft-bench"]
    if auth:
        lines.append(f"Authorization: {auth}")
    body = b""
    if form is not None:
        body = urlencode(form).encode()
        lines.append("Content-Type: application/x-www-form-urlencoded")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


#: Reopen a connection idle for longer than this: uvicorn closes kept-alive connections idle for 5 s.
IDLE_SECONDS = 3.0


class Connection:
    """One kept-alive connection to ``host:port``; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used_at = 0.0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader, self._writer = reader, writer
        return reader, writer

    async def open(self) -> None:
        """Connect now (else the first request does)."""
        if self._writer is None:
            await self._open()
            self._used_at = time.monotonic()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send ``data`` (a whole request) and return the answer's status code and body.

        A kept-alive connection that the server closed before reading the request (nothing came back at all)
        is reopened and the request sent once more, as HTTP clients do."""
        now = time.monotonic()
        if self._writer is not None and now - self._used_at > IDLE_SECONDS:
            await self.close()
        reused = self._writer is not None
        self._used_at = now
        try:
            return await self._exchange(data)
        except asyncio.IncompleteReadError as exc:
            if not reused or exc.partial:
                raise
        except ConnectionResetError:
            if not reused:
                raise
        return await self._exchange(data)

    async def _exchange(self, data: bytes) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            reader, writer = await self._open()
        else:
            reader, writer = self._reader, self._writer
        try:
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lowered.index(b"\r\n", at + 2)
                body = await reader.readexactly(int(lowered[at + 17 : end]))
            elif b"\r\ntransfer-encoding: chunked" in lowered:
                body = await _chunked(reader)
            else:
                body = b""
            if b"\r\nconnection: close" in lowered:
                await self.close()
            self._used_at = time.monotonic()
            return status, body
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()  # (not awaiting wait_closed: this also runs while a cancellation unwinds)


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port, url
    return parts.hostname, parts.port


@dataclass
class LoopLag:
    """How late the generator's own event loop wakes up: large values mean the client is the bottleneck."""

    interval: float = 0.005
    samples_ms: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            self.samples_ms.append(max(0.0, (time.monotonic() - before - self.interval) * 1000))

    def start(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def p(self, q: float) -> float:
        return percentile(self.samples_ms, q)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (as uvicorn uses it): a cheaper generator."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)
