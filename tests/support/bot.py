"""A real botbuilder-python bot (tests/support/botvenv/echo_bot.py) in a subprocess on 127.0.0.1.

botbuilder pins its own aiohttp, which need not be Loft's, so the bot runs in a virtual environment of its own:
``tests/support/botvenv/.venv``, made by :func:`install` (or scripts/test) when it is missing or
requirements.txt changed since it was made (the same stamp scripts/test checks). Only PyPI is needed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.server import free_port
from tests.support.waiting import eventually

FOLDER = Path(__file__).with_name("botvenv")
REQUIREMENTS = FOLDER / "requirements.txt"
VENV = FOLDER / ".venv"
STAMP = VENV / ".installed-from"
PYTHON = VENV / "bin" / "python"


def install() -> None:
    """Make the bot's venv when it is missing or requirements.txt changed (two runs at once take turns)."""
    with REQUIREMENTS.open("rb") as requirements:
        fcntl.flock(requirements, fcntl.LOCK_EX)
        wanted = hashlib.sha256(requirements.read()).hexdigest()
        if STAMP.is_file() and STAMP.read_text().strip() == wanted:
            return
        for command in ([sys.executable, "-m", "venv", "--clear", str(VENV)],
                        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                         str(REQUIREMENTS)]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
        STAMP.write_text(wanted + "\n")


@dataclass
class Bot:
    """The echo bot on a port of its own; :meth:`running` starts it (again, on the same port)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    #: Added to the bot's environment (its app id and password, where it finds Loft's identity provider …).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    @contextmanager
    def running(self) -> Iterator[Bot]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> None:
        install()
        self.process = subprocess.Popen([str(PYTHON), str(FOLDER / "echo_bot.py"), str(self.port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, **self.env})
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline() if ready else ""
        if "listening" not in line:
            self.stop()
            raise RuntimeError(f"the bot did not start: {line!r}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def notify(self, text: str) -> int:
        """Send ``text`` proactively to every conversation the bot has seen; how many."""
        response = httpx.post(f"http://127.0.0.1:{self.port}/api/notify", json={"text": text}, timeout=60)
        assert response.status_code == 200, response.text
        sent: int = response.json()["sent"]
        return sent

    def start_conversation(self, service_url: str, number: str, phone: str, text: str) -> str:
        """Start a conversation of ``number`` with ``phone`` saying ``text`` (``create_conversation``); its id."""
        response = httpx.post(f"http://127.0.0.1:{self.port}/api/start", timeout=60,
                              json={"service_url": service_url, "number": number, "phone": phone, "text": text})
        assert response.status_code == 200, response.text
        conversation: str = response.json()["conversation"]
        return conversation


@dataclass
class ScriptBot(Bot):
    """A bot of a script of one's own (docs/bots.md's echo bot), its port written ``3978`` in it; ready once it
    accepts connections."""

    script: Path = FOLDER / "echo_bot.py"

    def start(self) -> None:
        install()
        source = self.script.read_text().replace("3978", str(self.port))
        self.process = subprocess.Popen([str(PYTHON), "-c", source], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        eventually(self._listening, timeout=60)

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the bot exited: {self.process.stdout.read() if self.process.stdout else ''}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0
