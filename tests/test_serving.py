"""``loft serve`` answers each request with one write to its socket (loft/serving.py)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from starlette.responses import JSONResponse, PlainTextResponse
from uvicorn.config import Config
from uvicorn.server import ServerState

from loft import serving
from loft.serving import _HOLD_AT, LoftHttpProtocol, TurnWrites
from tests.support.server import LoftServer


class Socket(asyncio.Transport):
    """Stands in for the connection's socket: what was written to it, call by call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.eof = False
        self.reading = True

    def write(self, data: Any) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def write_eof(self) -> None:
        self.eof = True

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)


def test_the_writes_of_one_turn_reach_the_socket_as_one_write_at_its_end() -> None:
    async def main() -> tuple[list[bytes], list[bytes]]:
        sock = Socket()
        turn = TurnWrites(sock, asyncio.get_running_loop())
        turn.write(b"HTTP/1.1 201 Created\r\n\r\n")
        turn.write(memoryview(b'{"sid": "SM1"}'))
        turn.write(b"")
        during = list(sock.writes)
        await asyncio.sleep(0)
        turn.write(b"next")
        await asyncio.sleep(0)
        return during, sock.writes

    during, after = asyncio.run(main())
    assert during == []
    assert after == [b'HTTP/1.1 201 Created\r\n\r\n{"sid": "SM1"}', b"next"]


def test_closing_first_hands_over_what_is_held_and_aborting_drops_it() -> None:
    async def main() -> tuple[Socket, Socket, Socket]:
        loop = asyncio.get_running_loop()
        closed, aborted, ended = Socket(), Socket(), Socket()
        for sock in (closed, aborted, ended):
            TurnWrites(sock, loop).write(b"held")
        closing = TurnWrites(closed, loop)
        closing.write(b"answer")
        closing.close()
        dropping = TurnWrites(aborted, loop)
        dropping.write(b"answer")
        dropping.abort()
        ending = TurnWrites(ended, loop)
        ending.write(b"answer")
        ending.write_eof()
        await asyncio.sleep(0)
        return closed, aborted, ended

    closed, aborted, ended = asyncio.run(main())
    assert closed.closed and closed.writes == [b"answer"]  # the other TurnWrites' "held" came after the close
    assert aborted.aborted and aborted.writes == []
    assert ended.eof and ended.writes == [b"answer", b"held"]


def test_a_large_body_is_not_held() -> None:
    async def main() -> tuple[list[int], int, list[int]]:
        sock = Socket()
        turn = TurnWrites(sock, asyncio.get_running_loop())
        turn.write(b"head")
        turn.write(b"x" * _HOLD_AT)
        at_once = [len(data) for data in sock.writes]
        turn.write(b"tail")
        held = turn.get_write_buffer_size()
        await asyncio.sleep(0)
        return at_once, held, [len(data) for data in sock.writes]

    at_once, held, after = asyncio.run(main())
    assert at_once == [4 + _HOLD_AT]
    assert held == 4
    assert after == [4 + _HOLD_AT, 4]


def _serve(app: Any, request: bytes) -> Socket:
    """Feed ``request`` to the protocol ``loft serve`` runs, over a stand-in socket, until it is answered."""

    async def main() -> Socket:
        config = Config(app, http=LoftHttpProtocol, lifespan="off", log_level="warning")
        config.load()
        protocol = LoftHttpProtocol(config, ServerState(), app_state={})
        sock = Socket()
        protocol.connection_made(sock)
        protocol.data_received(request)
        for _ in range(50):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        return sock

    return asyncio.run(main())


def test_the_protocol_writes_a_response_s_head_and_body_at_once() -> None:
    sock = _serve(JSONResponse({"sid": "SM1"}, status_code=201),
                  b"POST /x HTTP/1.1\r\nHost: loft\r\nContent-Length: 0\r\n\r\n")
    assert len(sock.writes) == 1
    head, _, body = sock.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 Created\r\n")
    assert body == b'{"sid":"SM1"}'


def test_the_protocol_closes_after_writing_when_the_client_asks_it_to() -> None:
    sock = _serve(PlainTextResponse("bye"), b"GET / HTTP/1.1\r\nHost: loft\r\nConnection: close\r\n\r\n")
    assert sock.closed
    assert len(sock.writes) == 1 and sock.writes[0].endswith(b"\r\n\r\nbye")


def test_pipelined_requests_are_answered_in_order_and_a_close_after_its_answer(loft: LoftServer) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: loft\r\n\r\n"
    last = b"GET /nowhere HTTP/1.1\r\nHost: loft\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", loft.port), timeout=10) as conn:
        conn.sendall(request * 3 + last)
        received = b""
        while chunk := conn.recv(65536):  # until the server closes the connection
            received += chunk
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [answer.split(b" ", 1)[0] for answer in answers] == [b"200", b"200", b"200", b"404"]
    assert all(answer.endswith(b'{"status":"ok"}') for answer in answers[:3])
    assert b"connection: close" in answers[3].lower()


@pytest.mark.parametrize("level", ["critical", "error", "warning", "info", "debug", "trace"])
def test_uvicorn_makes_access_lines_only_at_levels_that_write_them(level: str) -> None:
    """uvicorn computes an access line's arguments before its logger drops it: it is told to make them only at a
    ``LOFT_LOG_LEVEL`` that writes INFO records (uvicorn's TRACE is level 5), and so is the bench's bare ASGI
    baseline, which is to be started as ``loft serve`` starts uvicorn."""
    import logging

    from uvicorn.logging import TRACE_LOG_LEVEL

    from bench import baseline

    numeric = TRACE_LOG_LEVEL if level == "trace" else logging.getLevelName(level.upper())
    assert serving.writes_access_lines(level) is (numeric <= logging.INFO)
    assert baseline.makes_access_lines(level) is serving.writes_access_lines(level)
