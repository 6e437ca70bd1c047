"""A real HTTP receiver on 127.0.0.1 for webhooks: it records every request and answers as told."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    form: list[tuple[str, str]]
    body: bytes
    #: The request target exactly as sent (path and query string).
    target: str

    def param(self, name: str) -> str | None:
        for key, value in [*self.form, *self.query]:
            if key == name:
                return value
        return None

    @property
    def params(self) -> dict[str, str]:
        return dict(self.form if self.method == "POST" else self.query)


@dataclass
class Answer:
    status: int = 200
    body: str = ""
    content_type: str | None = "text/xml"
    delay: float = 0.0
    #: ("user", "password"): answer 401 with a Basic challenge until the request carries them.
    basic_auth: tuple[str, str] | None = None
    #: Binary content (media) instead of ``body``.
    raw: bytes | None = None
    #: More headers (``Location`` for a redirect …).
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    #: Connections waiting to be accepted (socketserver's default is 5): Loft sends a burst of callbacks at once,
    #: and a connection beyond the queue waits a second for its SYN to be sent again.
    request_queue_size = 256


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def answer(self, path: str, answer: Answer) -> None:
        self.answers[path] = answer

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                snapshot = list(self.requests)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"timed out; received {[(r.method, r.path, r.params) for r in self.requests]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(host: str = "127.0.0.1") -> Receiver:
    """A receiver listening on ``host`` (any address of 127.0.0.0/8 is the loopback interface on Linux)."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                return  # the sender died mid-request: nothing was received
            parts = urlsplit(self.path)
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True) if self.command == "POST" else []
            record = Received(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, form, body, self.path)
            answer = receiver.answers.get(parts.path, Answer(content_type="text/xml", body="<Response/>"))
            with receiver.lock:
                receiver.requests.append(record)
            if answer.delay:
                time.sleep(answer.delay)
            if answer.basic_auth is not None:
                expected = "Basic " + base64.b64encode(":".join(answer.basic_auth).encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._send(401, "", "text/plain", {"WWW-Authenticate": 'Basic realm="receiver"'})
                    return
            self._send(answer.status, answer.raw if answer.raw is not None else answer.body, answer.content_type,
                       answer.headers)

        def _send(self, status: int, text: str | bytes, content_type: str | None, headers: dict[str, str]) -> None:
            data = text.encode() if isinstance(text, str) else text
            try:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = _handle

    server = _Server((host, 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
