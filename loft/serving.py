"""How ``loft serve`` puts its answers on the wire: uvicorn's HTTP protocol (httptools), each response in one write.

uvicorn writes a response's status line and headers when the application sends ``http.response.start``, and its
body when it sends ``http.response.body``: two calls to the kernel, and two TCP segments for the client to take
in, for an answer of a few hundred bytes (with two processes, one write per answer gives 13 % more creates a
second: a paired A/B of ``wrk`` runs, CHANGELOG). Here the writes made to a connection during one turn of the
event loop are joined and handed to the socket at the end of that turn, in order: what an answer sends at once
leaves at once, and a large body (more than ``_HOLD_AT`` bytes in one turn) is not held at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Bytes of one turn's writes past which they go to the socket at once (its own flow control takes over).
_HOLD_AT = 64 * 1024


class TurnWrites:
    """A transport whose writes of one turn of ``loop`` reach ``transport`` as one write at the end of the turn;
    everything else is the transport's own. Closing (or ending the stream) first hands over what is held."""

    __slots__ = ("_transport", "_loop", "_held", "_size")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= _HOLD_AT:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Hand what is held to the transport (a transport closing meanwhile drops it, as it would its buffer)."""
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class LoftHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`TurnWrites` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(TurnWrites(transport, self.loop))  # type: ignore[arg-type]
