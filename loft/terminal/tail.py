"""``loft tail``: a live, colored stream of message status changes and webhook attempts.

Loft's API has no event feed, so the stream is reconstructed by polling: the newest page of
``GET /2010-04-01/Accounts/{sid}/Messages.json`` (more pages only while a page holds nothing but messages
never seen before), and, for each message whose status changed in the last ``WEBHOOK_WINDOW`` seconds,
``GET /loft/v1/Accounts/{sid}/Messages/{SM}/Webhooks``; when an outbound message leaves (``sent``) or ends, its
hand-offs to network carriers (``GET …/Deliveries``: the carrier that took it, its reference, the report). Each
status a message is seen in, each webhook attempt and each carrier's answer is printed once. Status changes of messages older than the pages looked at are not seen: tail
follows what is happening now.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from loft.terminal import options
from loft.terminal.client import DEFAULT_URL, LoftClient, NoAnswer, quoted

#: Seconds after a status change during which a message's webhook attempts are looked for: at the change,
#: then FIRST_PAUSE later, then twice that... (six looks in all), so a busy account does not cost a request
#: per message per poll.
WEBHOOK_WINDOW = 30.0
FIRST_PAUSE = 0.5
STATUS_COLORS = {
    "accepted": "yellow", "scheduled": "yellow", "queued": "yellow", "sending": "blue", "sent": "blue",
    "receiving": "blue", "received": "green", "delivered": "green", "read": "green",
    "undelivered": "red", "failed": "red", "canceled": "dim",
}
#: Statuses a message does not leave.
FINAL = frozenset({"received", "delivered", "read", "undelivered", "failed", "canceled"})
#: Statuses after which an outbound message's carrier answers are looked for.
CARRIED = frozenset({"sent", "delivered", "undelivered", "failed"})
DIRECTIONS = ("inbound", "outbound-api", "outbound-call", "outbound-reply")


@dataclass(frozen=True)
class Filters:
    to: str | None = None
    from_: str | None = None
    statuses: frozenset[str] = frozenset()
    directions: frozenset[str] = frozenset()

    def query(self) -> dict[str, str]:
        """The filters Loft applies itself."""
        query = {}
        if self.to:
            query["To"] = self.to
        if self.from_:
            query["From"] = self.from_
        return query

    def admit(self, message: dict[str, Any]) -> bool:
        if self.statuses and message.get("status") not in self.statuses:
            return False
        if self.directions and not any(str(message.get("direction", "")).startswith(d) for d in self.directions):
            return False
        return True


@dataclass
class Seen:
    status: str
    webhooks: int = 0
    #: ``time.monotonic()`` of the last status change observed (0: before tail started).
    changed: float = 0.0
    #: When to look for its webhook attempts next: soon after a change, then less and less often.
    next_look: float = 0.0
    pause: float = FIRST_PAUSE
    #: The carriers' answers printed so far: (carrier, reference, status) of each hand-off.
    carried: set[tuple[str, str, str]] = field(default_factory=set)

    def change(self, status: str, now: float) -> None:
        self.status, self.changed, self.next_look, self.pause = status, now, now, FIRST_PAUSE

    def due(self, now: float) -> bool:
        return bool(self.changed) and now - self.changed <= WEBHOOK_WINDOW and now >= self.next_look

    def looked(self, now: float) -> None:
        self.next_look, self.pause = now + self.pause, self.pause * 2


@dataclass
class Tail:
    client: LoftClient
    console: Console
    filters: Filters = field(default_factory=Filters)
    webhooks: bool = True
    page_size: int = 50
    max_pages: int = 4
    clock: Callable[[], float] = time.monotonic
    known: dict[str, Seen] = field(default_factory=dict)

    # Reading ------------------------------------------------------------------------------------------

    def _pages(self, page_size: int) -> Iterator[list[dict[str, Any]]]:
        path: str | None = self.client.api("Messages.json")
        params: dict[str, str | int] | None = {**self.filters.query(), "PageSize": page_size}
        count = 0
        while path and count < self.max_pages:
            page = self.client.get(path, params)
            count += 1
            yield list(page.get("messages", []))
            path, params = page.get("next_page_uri"), None

    def recent(self, count: int) -> list[dict[str, Any]]:
        """The newest ``count`` messages that pass the filters, newest first."""
        found: list[dict[str, Any]] = []
        for page in self._pages(min(max(count, 1), 1000)):
            found += [message for message in page if self.filters.admit(message)]
            if len(found) >= count:
                break
        return found[:count]

    def attempts(self, sid: str) -> list[dict[str, Any]]:
        path = f"/loft/v1/Accounts/{quoted(self.client.account_sid)}/Messages/{quoted(sid)}/Webhooks"
        found: list[dict[str, Any]] = self.client.get(path).get("webhooks", [])
        return found

    # Printing -----------------------------------------------------------------------------------------

    def backlog(self, count: int) -> None:
        """Print the newest ``count`` messages (oldest first) with their webhook attempts, and remember them."""
        for message in reversed(self.recent(count)):
            seen = self.known[message["sid"]] = Seen(str(message.get("status")))
            self.print_status(message)
            self.print_carried(message, seen)
            if self.webhooks:
                self.print_attempts(message, seen)

    def remember(self) -> None:
        """Take note of the newest page as it is now, printing nothing: what follows is news."""
        for page in self._pages(self.page_size):
            for message in page:
                if message["sid"] not in self.known:
                    status = str(message.get("status"))
                    seen = self.known[message["sid"]] = Seen(status)
                    if self.webhooks and status not in FINAL and self.filters.admit(message):
                        seen.webhooks = len(self.attempts(message["sid"]))
            break

    def poll(self) -> None:
        """One look at the newest messages: print status changes and new webhook attempts."""
        now = self.clock()
        messages: list[dict[str, Any]] = []
        for page in self._pages(self.page_size):
            messages += page
            if any(message["sid"] in self.known for message in page):
                break  # this page reaches back to what was already seen
        for message in reversed(messages):
            sid = message["sid"]
            status = str(message.get("status"))
            seen = self.known.get(sid)
            changed = seen is None or seen.status != status
            if seen is None:
                seen = self.known[sid] = Seen(status)
            if changed:
                seen.change(status, now)
            if not self.filters.admit(message):
                continue
            if changed:
                self.print_status(message)
                self.print_carried(message, seen)
            if self.webhooks and seen.due(now):
                self.print_attempts(message, seen)
                seen.looked(now)

    def print_carried(self, message: dict[str, Any], seen: Seen) -> None:
        """Print what network carriers said of an outbound message that left (``sent``) or ended, not printed yet."""
        if str(message.get("status")) not in CARRIED or not str(message.get("direction", "")).startswith("outbound"):
            return
        path = f"/loft/v1/Accounts/{quoted(self.client.account_sid)}/Messages/{quoted(message['sid'])}/Deliveries"
        for delivery in self.client.get(path).get("deliveries", []):
            key = (str(delivery.get("carrier")), str(delivery.get("reference")), str(delivery.get("status")))
            if key in seen.carried:
                continue
            seen.carried.add(key)
            status = key[2]
            color = {"delivered": "green", "sent": "blue"}.get(status, "red")
            line = (f"[dim]{_iso_clock(delivery.get('date_updated'))}[/dim] {message['sid']} "
                    f"[bold]↳ carrier[/bold] {escape(key[0])} ref {escape(key[1])} [{color}]{escape(status)}[/{color}]")
            if delivery.get("error_code"):
                line += f" [red]{delivery['error_code']}[/red]"
            parts = delivery.get("parts") or []
            if len(parts) > 1:
                line += f" ({len(parts)} parts)"
            self.console.print(line, soft_wrap=True)

    def print_attempts(self, message: dict[str, Any], seen: Seen) -> None:
        attempts = self.attempts(message["sid"])
        for attempt in attempts[seen.webhooks:]:
            self.print_attempt(message, attempt)
        seen.webhooks = max(seen.webhooks, len(attempts))

    def print_status(self, message: dict[str, Any]) -> None:
        status = str(message.get("status"))
        color = STATUS_COLORS.get(status, "white")
        direction = str(message.get("direction", ""))
        arrow_color = "magenta" if direction == "inbound" else "cyan"
        body = str(message.get("body") or "")
        excerpt = body if len(body) <= 60 else body[:57] + "..."
        line = (f"[dim]{_rfc2822_clock(message.get('date_updated'))}[/dim] {message['sid']} "
                f"[{arrow_color}]{direction:<14}[/{arrow_color}] {escape(str(message.get('from')))} → "
                f"{escape(str(message.get('to')))} [bold {color}]{status}[/bold {color}]")
        if message.get("error_code"):
            line += f" [red]{message['error_code']} {escape(str(message.get('error_message') or ''))}[/red]"
        if excerpt:
            line += f" [italic]{escape(repr(excerpt))}[/italic]"
        if message.get("num_media") not in (None, "0", 0):
            line += f" [blue]+{message['num_media']} media[/blue]"
        self.console.print(line, soft_wrap=True)

    def print_attempt(self, message: dict[str, Any], attempt: dict[str, Any]) -> None:
        code = attempt.get("status_code")
        good = isinstance(code, int) and 200 <= code < 300 and not attempt.get("error_code")
        color = "green" if good else "red"
        answer = str(code) if code is not None else "no answer"
        if attempt.get("error_code"):
            answer += f" {attempt['error_code']} {attempt.get('error_message') or ''}".rstrip()
        event = ""
        params = attempt.get("request_params") or {}
        if attempt.get("kind") == "status_callback" and params.get("MessageStatus"):
            event = f" ({params['MessageStatus']})"
        latency = f" {attempt['latency_ms']} ms" if attempt.get("latency_ms") is not None else ""
        self.console.print(
            f"[dim]{_iso_clock(attempt.get('date_created'))}[/dim] {message['sid']} "
            f"[bold]↳ webhook[/bold] {escape(str(attempt.get('kind')))}{escape(event)} "
            f"#{attempt.get('attempt')} {attempt.get('method')} {escape(str(attempt.get('url')))} "
            f"→ [{color}]{escape(answer)}[/{color}]{latency}",
            soft_wrap=True,
        )

    # Running ------------------------------------------------------------------------------------------

    def follow(self, interval: float, stop: threading.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set (checked between polls, and while waiting)."""
        stop = stop or threading.Event()
        lost = False
        while not stop.is_set():
            try:
                self.poll()
                if lost:
                    self.console.print("[green]Back in contact with Loft.[/green]")
                    lost = False
            except NoAnswer as exc:
                if not lost:
                    self.console.print(f"[red]{escape(str(exc))} (still trying)[/red]")
                    lost = True
            stop.wait(interval)


def _local(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S")


def _rfc2822_clock(value: object) -> str:
    if isinstance(value, str) and value:
        try:
            return _local(email.utils.parsedate_to_datetime(value))
        except (TypeError, ValueError):
            pass
    return "--:--:--"


def _iso_clock(value: object) -> str:
    return options.clock(value) or "--:--:--"


def command(
    to: Annotated[Optional[str], typer.Option("--to", help="Only messages to this number.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Only messages from this number.")] = None,
    status: Annotated[Optional[list[str]], typer.Option("--status", help="Only messages in this status (repeatable).")] = None,
    direction: Annotated[Optional[list[str]], typer.Option("--direction", help="Only inbound or outbound (outbound-api, outbound-reply) messages (repeatable).")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="How many recent messages to show first.")] = 10,
    once: Annotated[bool, typer.Option("--once", help="Print the recent messages and their webhooks, then exit.")] = False,
    webhooks: Annotated[bool, typer.Option("--webhooks/--no-webhooks", help="Show webhook attempts.")] = True,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 1.0,
    url: options.Url = DEFAULT_URL,
    account_sid: options.AccountSid = None,
    auth_token: options.AuthToken = None,
    api_key: options.ApiKey = None,
    api_secret: options.ApiSecret = None,
) -> None:
    """Stream message status changes and webhook attempts as they happen (Ctrl-C stops)."""
    console = Console(highlight=False)
    for value in direction or []:
        if not any(known.startswith(value) for known in DIRECTIONS):
            options.fail(console, f"Unknown direction {value!r}: inbound, outbound, outbound-api or outbound-reply.")
    filters = Filters(to, from_, frozenset(status or ()), frozenset(direction or ()))
    connection = options.Connection(url, account_sid, auth_token, api_key, api_secret)

    def run(client: LoftClient) -> None:
        tail = Tail(client, console, filters, webhooks=webhooks)
        tail.backlog(lines)
        if once:
            return
        tail.remember()
        console.print(f"[dim]Following the messages of {client.account_sid} at {escape(client.base_url)}; "
                      "Ctrl-C stops.[/dim]")
        # Ctrl-C ends the loop between two polls: a KeyboardInterrupt raised inside the HTTP client can leave its
        # connection pool's (non-reentrant) lock held, and closing the client then hangs on it (seen once in
        # tests/terminal/test_tail.py; encode/httpcore#996). A second Ctrl-C interrupts at once.
        stopping = threading.Event()

        def interrupted(signum: int, frame: object) -> None:
            stopping.set()
            signal.signal(signal.SIGINT, signal.default_int_handler)

        previous = signal.signal(signal.SIGINT, interrupted)
        try:
            tail.follow(interval, stopping)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, previous)

    options.connected(console, connection, run)
