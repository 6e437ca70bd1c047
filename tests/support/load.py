"""A load of creates and lists on a running Loft, each client on one keep-alive connection, for outage tests.

The clients run on a thread with an event loop of their own while the test cuts and restores the database; every
request's answer (or the lack of one) is kept, in the order the answers came.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

#: Seconds a client waits for an answer before it counts the request as unanswered.
PATIENCE = 30.0


@dataclass
class Answer:
    client: int
    method: str
    fmt: str  # "json" or "xml": what the request asked for
    body_sent: str | None  # a create's Body (each is unique)
    started: float  # time.monotonic()
    seconds: float
    status: int | None = None  # None: no answer (the connection failed, or no answer within PATIENCE)
    text: str = ""
    error: str = ""
    sid: str | None = None  # a 201's message


@dataclass
class Load:
    base_url: str  # where the clients connect (e.g. a counting proxy in front of Loft)
    account_sid: str
    auth_token: str
    clients: int = 8
    answers: list[Answer] = field(default_factory=list)
    _stop: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def count(self, check: Callable[[Answer], bool]) -> int:
        return sum(1 for answer in list(self.answers) if check(answer))

    def each_client_got(self, statuses: tuple[int, ...], *, since: float) -> bool:
        """Every client got one of ``statuses`` for a request it sent after ``since``."""
        lucky = {answer.client for answer in list(self.answers) if answer.started > since and answer.status in statuses}
        return len(lucky) == self.clients

    async def _client(self, client: int) -> None:
        assert self._stop is not None
        base = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages"
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(auth=(self.account_sid, self.auth_token), timeout=PATIENCE,
                                     limits=limits) as http:
            turn = 0
            while not self._stop.is_set():
                turn += 1
                listing = turn % 4 == 0
                fmt = "xml" if client % 2 and listing else "json"
                body = None if listing else f"load {client}-{turn}"
                answer = Answer(client, "GET" if listing else "POST", fmt, body, time.monotonic(), 0.0)
                try:
                    if listing:
                        response = await http.get(f"{base}.{fmt}", params={"PageSize": 5})
                    else:
                        response = await http.post(f"{base}.json", data={"To": "+15558675310",
                                                                          "From": "+15005550006", "Body": body})
                except httpx.HTTPError as exc:
                    answer.error = f"{type(exc).__name__}: {exc}"
                else:
                    answer.status, answer.text = response.status_code, response.text
                    if response.status_code == 201:
                        answer.sid = response.json()["sid"]
                answer.seconds = time.monotonic() - answer.started
                self.answers.append(answer)
                if answer.status is None:
                    await asyncio.sleep(0.1)

    async def _run(self, started: threading.Event) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        started.set()
        await asyncio.gather(*(self._client(client) for client in range(self.clients)))

    @contextmanager
    def running(self) -> Iterator[Load]:
        """The clients run for the block; at its end each finishes the request it is waiting for, and stops."""
        started = threading.Event()
        thread = threading.Thread(target=asyncio.run, args=(self._run(started),), name="load", daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield self
        finally:
            assert self._loop is not None and self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(PATIENCE + 10)
            assert not thread.is_alive(), "a client is still waiting for an answer"

    def wait_until(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"load: condition not met within {timeout} s")
            time.sleep(0.05)
