"""``loft handset +15550001111 --to +15557654321``: be a phone and chat with a Loft number.

``--to`` (and ``/to``) must name a number of the account, in E.164, as the digits it ends with or as its ``PN…``
SID: it is looked up before anything is sent, and another is refused in one line. Each line typed is a text from the handset to the ``--to`` number (``POST /sim/v1/Handsets/{n}/Messages``),
which makes Loft call that number's webhook as Twilio would. What the handset receives
(``GET /sim/v1/Handsets/{n}/Messages``) is polled in a background thread and printed once, as it arrives,
above the line being typed. ``/quit`` or end of input (Ctrl-D) leaves.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from loft.terminal import numbers, options
from loft.terminal.client import DEFAULT_URL, ApiError, LoftClient, TerminalError, quoted

PROMPT = "> "
HELP = """Type a message and press Enter to text it.
  /to NUMBER           text another number from now on
  /media URL [text]    send a picture (or any media URL), with an optional text
  /help                this help
  /quit                leave (Ctrl-D too)"""


def _key(message: dict[str, Any]) -> str:
    return str(message.get("sid") or f"{message.get('date_received')}|{message.get('from')}|{message.get('body')}")


class Chat:
    """The handset's session: sends what is typed, prints what arrives, each message once."""

    def __init__(self, client: LoftClient, number: str, to: str, console: Console, *, interval: float,
                 read_line: Callable[[str], str] = input) -> None:
        self.client = client
        self.number = number
        self.to = to
        self.console = console
        self.interval = interval
        self.read_line = read_line
        self.path = f"/sim/v1/Handsets/{quoted(number)}/Messages"
        self.seen: set[str] = set()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.interactive = sys.stdin.isatty() and sys.stdout.isatty()
        self._lost = False

    # What arrives -------------------------------------------------------------------------------------

    def inbox(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.client.get(self.path).get("messages", [])
        return messages

    def catch_up(self, history: int) -> None:
        """Remember what the handset already holds; show the last ``history`` of it, dimmed."""
        received = self.inbox()
        self.seen.update(_key(message) for message in received)
        earlier = list(reversed(received[:history]))
        if earlier:
            self.console.print(f"[dim]Last {len(earlier)} message(s) received earlier:[/dim]")
            for message in earlier:
                self.console.print(self._line(message, dim=True))

    def poll_once(self) -> None:
        try:
            received = self.inbox()
        except TerminalError as exc:
            if not self._lost:
                self._lost = True
                self.show(f"[red]Lost contact with Loft: {escape(str(exc))} (still trying)[/red]")
            return
        if self._lost:
            self._lost = False
            self.show("[green]Back in contact with Loft.[/green]")
        for message in reversed(received):  # oldest first
            key = _key(message)
            if key not in self.seen:
                self.seen.add(key)
                self.show(self._line(message))

    def _poll(self) -> None:
        while not self.stop.wait(self.interval):
            self.poll_once()

    def _line(self, message: dict[str, Any], *, dim: bool = False) -> str:
        when = _clock(message.get("date_received"))
        sender = escape(str(message.get("from") or "?"))
        text = escape(str(message.get("body") or ""))
        media = "".join(f"\n    [blue]media: {escape(str(url))}[/blue]" for url in message.get("media_urls") or [])
        if dim:
            return f"[dim]{when} {sender} › {text}[/dim]{media}"
        return f"[dim]{when}[/dim] [bold cyan]{sender}[/bold cyan] › {text}{media}"

    def show(self, markup: str) -> None:
        """Print above the line being typed, then put the prompt and what was typed so far back."""
        with self.lock:
            if not self.interactive:
                self.console.print(markup)
                return
            typed = _line_buffer()
            self.console.file.write("\r\x1b[2K")
            self.console.print(markup)
            self.console.file.write(PROMPT + typed)
            self.console.file.flush()

    # What is typed ------------------------------------------------------------------------------------

    def send(self, body: str, media_urls: list[str] | None = None) -> None:
        form: dict[str, str | list[str]] = {"To": self.to, "Body": body}
        if media_urls:
            form["MediaUrl"] = media_urls
        try:
            self.client.post(self.path, form)
        except TerminalError as exc:
            self.show(f"[red]Not sent: {escape(str(exc))}[/red]")

    def handle(self, line: str) -> bool:
        """Act on one typed line; False when the session is over."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit", "/q"):
            return False
        if text == "/help":
            self.show(escape(HELP))
        elif text == "/to" or text.startswith("/to "):
            number = text[3:].strip()
            if not number:
                self.show(f"[dim]Texting {escape(self.to)}.[/dim]")
                return True
            try:
                self.to = own_number(self.client, number)
            except TerminalError as exc:
                self.show(f"[red]{escape(str(exc))} Still texting {escape(self.to)}.[/red]")
            else:
                self.show(f"[dim]Now texting {escape(self.to)}.[/dim]")
        elif text.startswith("/media "):
            url, _, caption = text[len("/media "):].strip().partition(" ")
            self.send(caption.strip(), [url])
        elif text.startswith("/") and " " not in text:
            self.show(f"[yellow]Unknown command {escape(text)}: /help lists them.[/yellow]")
        else:
            self.send(line.rstrip("\n"))
        return True

    def run(self, history: int) -> None:
        self.catch_up(history)
        self.console.print(f"[bold]{escape(self.number)}[/bold] texting [bold]{escape(self.to)}[/bold]. "
                           "Type a message and press Enter; /help for commands, /quit to leave.")
        poller = threading.Thread(target=self._poll, name="loft-handset-poll", daemon=True)
        poller.start()
        try:
            while True:
                try:
                    line = self.read_line(PROMPT)
                except EOFError:
                    break
                if not self.handle(line):
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop.set()
            poller.join(timeout=5)
            self.console.print("\n[dim]Bye.[/dim]")


def own_number(client: LoftClient, text: str) -> str:
    """The E.164 number of the account's number ``text`` names (E.164, the digits it ends with, or its PN SID);
    a :class:`TerminalError` in one line when the account has no such number."""
    try:
        return str(numbers.resolve(client, text)["phone_number"])
    except ApiError:
        raise  # the credentials or the server: reported as they are
    except TerminalError as exc:
        raise TerminalError(f"{exc} `loft numbers list` shows the account's numbers.") from exc


def _line_buffer() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - no GNU readline on this platform
        return ""
    return readline.get_line_buffer()


def _clock(value: object) -> str:
    return options.clock(value) or dt.datetime.now().strftime("%H:%M:%S")


def command(
    number: Annotated[str, typer.Argument(help="The handset's own number (E.164), e.g. +15550001111.")],
    to: Annotated[str, typer.Option("--to", help="The Loft number to text: a number of the account (E.164, the digits it ends with, or its PN SID).")],
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between checks for new messages.")] = 0.3,
    history: Annotated[int, typer.Option("--history", min=0, help="How many earlier messages to show on start.")] = 5,
    url: options.Url = DEFAULT_URL,
    account_sid: options.AccountSid = None,
    auth_token: options.AuthToken = None,
    api_key: options.ApiKey = None,
    api_secret: options.ApiSecret = None,
) -> None:
    """Chat as a virtual handset: what you type is texted to --to, what the handset receives is shown."""
    if sys.stdin.isatty():
        import readline  # noqa: F401 - line editing and history for input()
    console = Console(highlight=False)
    connection = options.Connection(url, account_sid, auth_token, api_key, api_secret)
    with options.reporting(console):
        with connection.client() as client:
            chat = Chat(client, number, own_number(client, to), console, interval=interval)
            try:
                chat.run(history)
            except ApiError as exc:
                raise TerminalError(f"Cannot open the handset {number}: {exc}") from exc
