"""A TCP forwarder the test controls, between Loft and its database: it forwards, refuses, resets or black-holes.

It runs on a thread with an event loop of its own, so that a synchronous test drives it between its requests:

- :meth:`TcpProxy.refuse` closes the listening socket (new connections get ``ECONNREFUSED``, as from a database
  that is down) and resets every live connection (``SO_LINGER`` 0: an RST, as from a database that died);
- :meth:`TcpProxy.blackhole` accepts new connections and never answers on them, and stops answering on the live
  ones (what a database behind a dead network path or a frozen host looks like);
- :meth:`TcpProxy.restore` forwards again (the connections that were black-holed are reset: bytes were lost).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Literal

Mode = Literal["forward", "refuse", "blackhole"]
_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode: Mode = "forward"
        self.accepted = 0  # connections accepted in all (for tests that want to see the proxy used)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._live: set[_Pair] = set()

    # The test's side: each call runs on the proxy's loop and returns once it is done there. ---------------------

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def refuse(self) -> None:
        self._call(self._set("refuse"))

    def blackhole(self) -> None:
        self._call(self._set("blackhole"))

    def restore(self) -> None:
        self._call(self._set("forward"))

    def close(self) -> None:
        self._call(self._shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def live(self) -> int:
        """Connections open through the proxy now."""
        return len(self._live)

    def _call(self, step: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(step, self._loop).result(10)

    # The proxy's loop. --------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set(self, mode: Mode) -> None:
        before, self.mode = self.mode, mode
        if mode == "refuse":
            for pair in list(self._live):
                pair.reset()
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()
                self._server = None
        elif mode == "forward":
            if before == "blackhole":
                for pair in list(self._live):
                    pair.reset()
            if self._server is None:
                await self._listen()
        else:  # blackhole: live connections stop answering; new ones are accepted and never answered
            for pair in self._live:
                pair.held = True

    async def _shut(self) -> None:
        """Refuse, and let every connection's handler end (their connections are reset), so that nothing is left
        pending on the loop; one still running after a while is cancelled."""
        await self._set("refuse")
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if others:
            _, pending = await asyncio.wait(others, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        pair = _Pair(writer)
        self._live.add(pair)
        try:
            if self.mode == "blackhole":
                pair.held = True
                await _drain_forever(reader)  # accepted, never answered
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            except OSError:
                pair.reset()
                return
            pair.upstream = upstream_writer
            await asyncio.gather(self._pump(reader, upstream_writer, pair), self._pump(upstream_reader, writer, pair))
        except asyncio.CancelledError:
            pass  # closing: ended rather than cancelled (asyncio's server logs a handler that ends cancelled)
        finally:
            self._live.discard(pair)
            pair.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair) -> None:
        try:
            while data := await reader.read(_CHUNK):
                if pair.held:
                    continue  # black-holed: swallowed
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if pair.broken:
                pair.reset()
            else:
                pair.close()


class _Pair:
    """One client connection and its connection upstream."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.held = False
        self.broken = False

    def reset(self) -> None:
        """Close both ends with an RST (no FIN): what a peer that died or a cut path looks like."""
        self.broken = True
        for writer in (self.client, self.upstream):
            if writer is None or writer.transport.is_closing():
                continue
            sock: socket.socket | None = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None and not writer.transport.is_closing():
                writer.close()


async def _drain_forever(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(_CHUNK):
            pass
    except (ConnectionError, OSError):
        pass


@contextmanager
def proxy_to(host: str, port: int) -> Iterator[TcpProxy]:
    """A started proxy to ``host:port`` for the block, closed after it."""
    proxy = TcpProxy(host, port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
