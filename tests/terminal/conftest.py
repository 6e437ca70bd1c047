"""Fixtures for the terminal tools: one SQLite Loft for the directory, a webhook receiver, and ways to run
``loft`` as a person would (a pseudo-terminal) or as a script would (typer's CliRunner)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from twilio.rest import Client
from typer.testing import CliRunner, Result

from loft.cli import app
from tests.conftest import make_server
from tests.support.server import LoftServer


@pytest.fixture(scope="session")
def loft(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """The tools speak the REST API only, so one backend is enough: SQLite (overrides the root fixture)."""
    server = make_server(tmp_path_factory.mktemp("loft-terminal"))
    with server.running():
        yield server


@pytest.fixture
def cli_env(loft: LoftServer, account: tuple[str, str]) -> dict[str, str]:
    """The environment a person would set to point the tools at the test account."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOFT_")}
    env = {key: value for key, value in env.items() if not key.startswith("TWILIO_")}
    env.update(LOFT_URL=loft.base_url, TWILIO_ACCOUNT_SID=account[0], TWILIO_AUTH_TOKEN=account[1],
               COLUMNS="200", LINES="50", TERM="xterm-256color")
    return env


class Terminal:
    """``loft …`` in a pseudo-terminal, the way a person runs it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.children: list[pexpect.spawn[str]] = []

    def spawn(self, *args: str, timeout: float = 20) -> pexpect.spawn[str]:
        child = pexpect.spawn(sys.executable, ["-m", "loft", *args], env=self.env, cwd=str(self.cwd),
                              encoding="utf-8", timeout=timeout, dimensions=(50, 200))
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in self.children:
            if child.isalive():
                child.terminate(force=True)
            child.close()


@pytest.fixture
def terminal(cli_env: dict[str, str], tmp_path: Path) -> Iterator[Terminal]:
    opened = Terminal(cli_env, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def before(child: pexpect.spawn[str]) -> str:
    """What the child printed between the last two matches."""
    text = child.before
    assert isinstance(text, str)
    return text


class Cli:
    """``loft …`` run in-process with typer's CliRunner, connection given as options."""

    def __init__(self, loft: LoftServer, account: tuple[str, str]) -> None:
        self.connection = ["--url", loft.base_url, "--account-sid", account[0], "--auth-token", account[1]]
        self.runner = CliRunner()

    def __call__(self, *args: str, connect: bool = True) -> Result:
        return self.runner.invoke(app, [*args, *(self.connection if connect else [])], env={"COLUMNS": "200"})


@pytest.fixture
def cli(loft: LoftServer, account: tuple[str, str]) -> Cli:
    return Cli(loft, account)


def settled(client: Client, sid: str) -> bool:
    return client.messages(sid).fetch().status in ("delivered", "undelivered", "failed")
