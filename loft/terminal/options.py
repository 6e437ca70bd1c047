"""The connection options every terminal command takes, the client they make, and how they show the API's times.

``--url`` / ``LOFT_URL``, ``--account-sid`` / ``TWILIO_ACCOUNT_SID`` and either ``--auth-token`` /
``TWILIO_AUTH_TOKEN`` or ``--api-key`` / ``TWILIO_API_KEY`` with ``--api-secret`` / ``TWILIO_API_SECRET``: the
names the Twilio SDKs and twilio-cli read (``loft credentials --export`` prints them), never those of the server,
whose ``LOFT_ACCOUNT_SID`` / ``LOFT_AUTH_TOKEN`` pin the main account (a shell that sets one set for the other
would restart a server with a client's credentials). Every tool works with an API key: none reads ``/Accounts``,
which Twilio keeps from standard keys.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, NoReturn, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from loft.terminal.client import DEFAULT_URL, LoftClient, TerminalError

_PANEL = "Connection"

Url = Annotated[str, typer.Option("--url", envvar="LOFT_URL", rich_help_panel=_PANEL,
                                  help="Base URL of the Loft server.")]
AccountSid = Annotated[Optional[str], typer.Option(
    "--account-sid", envvar="TWILIO_ACCOUNT_SID", rich_help_panel=_PANEL,
    help="The account to act on (AC...).")]
AuthToken = Annotated[Optional[str], typer.Option(
    "--auth-token", envvar="TWILIO_AUTH_TOKEN", rich_help_panel=_PANEL, show_default=False,
    help="The account's auth token (or use an API key).")]
ApiKey = Annotated[Optional[str], typer.Option(
    "--api-key", envvar="TWILIO_API_KEY", rich_help_panel=_PANEL, help="An API key SID (SK...), instead of the auth token.")]
ApiSecret = Annotated[Optional[str], typer.Option(
    "--api-secret", envvar="TWILIO_API_SECRET", rich_help_panel=_PANEL, show_default=False,
    help="The API key's secret.")]


@dataclass(frozen=True)
class Connection:
    url: str = DEFAULT_URL
    account_sid: str | None = None
    auth_token: str | None = None
    api_key: str | None = None
    api_secret: str | None = None

    def client(self) -> LoftClient:
        if not self.account_sid:
            raise TerminalError("Which account? Give --account-sid or set TWILIO_ACCOUNT_SID "
                                '(eval "$(loft credentials --export)" sets the main account\'s).' + _server_names())
        if self.api_key:
            if not self.api_secret:
                raise TerminalError("--api-key needs its secret: give --api-secret or set TWILIO_API_SECRET.")
            return LoftClient(self.url, self.api_key, self.api_secret, self.account_sid)
        if not self.auth_token:
            raise TerminalError("No credentials: give --auth-token (TWILIO_AUTH_TOKEN), or --api-key and "
                                "--api-secret (TWILIO_API_KEY, TWILIO_API_SECRET)." + _server_names())
        return LoftClient(self.url, self.account_sid, self.auth_token, self.account_sid)


def _server_names() -> str:
    """A hint for a shell set up the old way, with the server's names (which the tools no longer read)."""
    if not {"LOFT_ACCOUNT_SID", "LOFT_AUTH_TOKEN"} & set(os.environ):
        return ""
    return (" LOFT_ACCOUNT_SID and LOFT_AUTH_TOKEN are loft serve's settings (they pin the main account): the tools "
            "read the TWILIO_ names.")


def fail(console: Console, message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]{escape(message)}[/bold red]")
    raise typer.Exit(code)


@contextmanager
def reporting(console: Console) -> Iterator[None]:
    """Turn a :class:`TerminalError` into one red line and exit status 1, not a traceback."""
    try:
        yield
    except TerminalError as exc:
        fail(console, str(exc))


T = TypeVar("T")


def connected(console: Console, connection: Connection, work: Callable[[LoftClient], T]) -> T:
    """Run ``work`` with a client for ``connection``, reporting errors cleanly and closing the client."""
    with reporting(console):
        with connection.client() as client:
            return work(client)
    raise AssertionError("unreachable")  # pragma: no cover - reporting() exits


def clock(value: object) -> str | None:
    """An ISO 8601 instant of the API (``…Z`` or an offset) as local ``HH:MM:SS``; None if it is not one."""
    if isinstance(value, str) and value:
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
        except ValueError:
            pass
    return None
