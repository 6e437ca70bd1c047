"""A hostile HTTP server on 127.0.0.1: it answers every request with a head of its choosing, then feeds a body of
any size at any pace, and counts what it managed to send before the client went away."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Hostile:
    """``head`` (status line and headers, without the blank line) answered to every request, then ``size`` bytes
    of body in chunks of ``chunk`` bytes, one every ``pause`` seconds (``chunked``: in HTTP chunked encoding)."""

    head: str
    size: int
    chunk: int = 64 * 1024
    pause: float = 0.0
    chunked: bool = False
    sent: int = 0  # body bytes written to the socket so far, all requests together
    requests: int = 0
    closed_early: threading.Event = field(default_factory=threading.Event)
    _sock: socket.socket = field(default_factory=socket.socket)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                data = connection.recv(65536)
                if not data:
                    return
                request += data
            self.requests += 1
            try:
                connection.sendall((self.head + "\r\n\r\n").encode())
                left = self.size
                while left > 0:
                    piece = min(self.chunk, left)
                    data = b"x" * piece
                    connection.sendall(b"%x\r\n%s\r\n" % (piece, data) if self.chunked else data)
                    self.sent += piece
                    left -= piece
                    if self.pause:
                        time.sleep(self.pause)
                if self.chunked:
                    connection.sendall(b"0\r\n\r\n")
            except OSError:  # the client closed the connection: it stopped reading
                self.closed_early.set()


@contextmanager
def serving(hostile: Hostile) -> Iterator[Hostile]:
    hostile._sock.bind(("127.0.0.1", 0))
    hostile._sock.listen(16)
    thread = threading.Thread(target=hostile._serve, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        try:
            hostile._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        except OSError:
            pass
        hostile._sock.close()
