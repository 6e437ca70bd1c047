"""README.md runs as written: every fenced code block is run, top to bottom, against a fresh ``loft serve`` the
way a reader runs it, or is listed in :data:`STEPS` as not run, with the reason.

The reader works in a folder of their own (:class:`Reader`): Loft's ``.venv`` there is this test run's virtual
environment (a link), ``.loft`` the fresh server's data dir, and the shell's environment has no ``LOFT_*`` or
``TWILIO_*`` variable and no ``loft`` on ``PATH`` until a block puts them there. What the README asks the reader
to fill in (``AC…``, ``your Loft auth token``, the address of their bot) is replaced through one explicit table,
:func:`substitutions`; a placeholder the table does not know fails the test. Python blocks run with this
Python (which has the ``twilio`` SDK), the twilio-node block with ``node`` and the ``twilio`` package freshly
installed with ``npm install twilio``, shell blocks with ``bash``, and the terminal tools' block line by line in
a pseudo-terminal (pexpect), answering the interactive ones as a person would.
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pexpect
import pytest
from twilio.rest import Client

from tests.conftest import IN_CI, make_server
from tests.support import receiver as receivers
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: The number the README buys and sends from, and where its bot's webhook is in the README.
NUMBER = "+14155550123"
BOT_URL = "http://127.0.0.1:5000/sms"
BOT_REPLY = "Hello from your bot"

#: What is left to fill in after substitution: an ellipsis (``AC…``, ``SK…``) or a "your … token/secret/SID/key".
PLACEHOLDER = re.compile(r"\w*…|\byour\b[\w ]*\b(?:token|secret|sid|key)\b", re.IGNORECASE)
_FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    #: The README line its opening fence is on.
    line: int


def blocks(markdown: str) -> list[Block]:
    return [Block(found[1], found[2], markdown.count("\n", 0, found.start()) + 1)
            for found in _FENCE.finditer(markdown)]


def substitutions(server: LoftServer, bot: Receiver) -> dict[str, str]:
    """What the reader puts in place of the README's placeholders."""
    return {
        "http://127.0.0.1:8080": server.base_url,
        "AC…": server.account_sid,
        "your Loft auth token": server.auth_token,
        BOT_URL: bot.url("/sms"),
    }


def filled_in(block: Block, table: dict[str, str]) -> str:
    text = block.text
    for placeholder, value in table.items():
        text = text.replace(placeholder, value)
    left = PLACEHOLDER.search(text)
    if left is not None:
        raise AssertionError(f"README.md line {block.line}: {left[0]!r} is a placeholder that tests/test_readme.py's "
                             "substitution table does not know")
    return text


@dataclass
class Reader:
    """A person following the README in a shell, in the folder where they installed Loft."""

    server: LoftServer
    bot: Receiver
    home: Path
    env: dict[str, str]
    #: Blocks not run on this machine, and why (only the twilio-node block, when npm cannot reach its registry).
    not_run: list[str] = field(default_factory=list)

    def client(self) -> Client:
        client = Client(self.server.account_sid, self.server.auth_token)
        client.api.base_url = self.server.base_url
        return client

    def bodies_sent(self) -> list[str]:
        return sorted(m.body for m in self.client().messages.list(from_=NUMBER))

    def run(self, command: list[str], *, cwd: Path | None = None, timeout: float = 120) -> str:
        done = subprocess.run(command, cwd=cwd or self.home, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"{shlex.join(command)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        return done.stdout


def added(before: list[str], after: list[str]) -> list[str]:
    """The bodies in ``after`` that ``before`` did not have (both sorted)."""
    left = list(after)
    for body in before:
        left.remove(body)
    return left


def run_python(reader: Reader, text: str) -> str:
    """Saved as a file and run with ``.venv/bin/python`` (this test run's Python: it has the twilio SDK)."""
    script = reader.home / "example.py"
    script.write_text(text)
    return reader.run([".venv/bin/python", script.name])


def buy_number(reader: Reader, text: str) -> None:
    assert re.fullmatch(rf"PN[0-9a-f]{{32}} \{NUMBER}\n", run_python(reader, text))


def send_with_python(reader: Reader, text: str) -> None:
    before = reader.bodies_sent()
    assert re.fullmatch(r"SM[0-9a-f]{32} queued\n", run_python(reader, text))
    assert added(before, reader.bodies_sent()) == ["Hello from Loft"]


def send_with_node(reader: Reader, text: str) -> None:
    """As the README says: in a folder of its own, ``npm install twilio``, save as ``send.js``, ``node send.js``."""
    folder = reader.home / "node-example"
    folder.mkdir()
    installed = subprocess.run(["npm", "install", "twilio"], cwd=folder, env=reader.env, capture_output=True,
                               text=True, timeout=300)
    if installed.returncode != 0:
        if re.search(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH", installed.stderr) \
                and not IN_CI:
            reader.not_run.append(f"the twilio-node block: npm cannot reach its registry ({installed.stderr[-300:]})")
            return
        raise AssertionError(f"npm install twilio failed:\n{installed.stdout}{installed.stderr}")
    (folder / "send.js").write_text(text)
    before = reader.bodies_sent()
    assert re.fullmatch(r"SM[0-9a-f]{32} queued\n", reader.run(["node", "send.js"], cwd=folder))
    assert added(before, reader.bodies_sent()) == ["Hello from Loft"]


def send_with_curl(reader: Reader, text: str) -> None:
    before = reader.bodies_sent()
    answer = json.loads(reader.run(["bash", "-c", text]))
    assert (answer["from"], answer["body"], answer["status"]) == (NUMBER, "Hi", "queued"), answer
    assert added(before, reader.bodies_sent()) == ["Hi"]


def save_as(name: str) -> Callable[[Reader, str], None]:
    def save(reader: Reader, text: str) -> None:
        (reader.home / name).write_text(text)
    return save


def use_the_terminal_tools(reader: Reader, text: str) -> None:
    """Each line as typed at a prompt: ``source`` and ``export`` change the shell's environment, ``loft …`` runs
    in a pseudo-terminal through ``bash`` (so quoting is the shell's), answered as :data:`TERMINAL` says."""
    reader.bot.answer("/sms", Answer(body=f"<Response><Message>{BOT_REPLY}</Message></Response>"))
    before = reader.bodies_sent()
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] in ("source", "export"):
            shell = subprocess.run(["bash", "--noprofile", "--norc", "-c", f"{line}\nenv -0"], cwd=reader.home,
                                   env=reader.env, capture_output=True, text=True, check=True)
            reader.env = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
            continue
        assert words[0] == "loft" and words[1] in TERMINAL, f"no way to run this README line: {line}"
        child = pexpect.spawn("bash", ["--noprofile", "--norc", "-c", line], env=reader.env, cwd=str(reader.home),
                              encoding="utf-8", timeout=30, dimensions=(50, 200))
        try:
            TERMINAL[words[1]](reader, words, child)
            child.expect(pexpect.EOF)
            child.close()
        finally:
            if child.isalive():
                child.terminate(force=True)
        assert child.exitstatus == 0, f"{line!r} exited with {child.exitstatus}"
    assert reader.client().incoming_phone_numbers.list(phone_number=NUMBER)[0].sms_url == reader.bot.url("/sms")
    assert added(before, reader.bodies_sent()) == sorted([BOT_REPLY, "One message", "Hi Ada", "Hi there"])
    (inbound,) = reader.bot.to("/sms")
    assert (inbound.param("From"), inbound.param("To"), inbound.param("Body")) == ("+15550001111", NUMBER, "hello bot")


def _numbers(reader: Reader, words: list[str], child: pexpect.spawn[str]) -> None:
    assert words[2] == "configure", words  # the README buys the number earlier, with twilio-python
    child.expect_exact(NUMBER)


def _handset(reader: Reader, words: list[str], child: pexpect.spawn[str]) -> None:
    child.expect("texting")
    child.sendline("hello bot")
    child.expect(BOT_REPLY)
    child.sendline("/quit")


def _tail(reader: Reader, words: list[str], child: pexpect.spawn[str]) -> None:
    child.expect("Ctrl-C stops")
    child.sendintr()


def _send(reader: Reader, words: list[str], child: pexpect.spawn[str]) -> None:
    if "--to-file" in words:
        child.expect_exact("Send 2 message(s)?")
        child.sendline("y")
        child.expect("2 accepted")
    else:
        child.expect(r"SM[0-9a-f]{32}")


#: How a person answers each terminal tool the README runs (the ``loft`` subcommand -> what they do).
TERMINAL: dict[str, Callable[[Reader, list[str], pexpect.spawn[str]], None]] = {
    "numbers": _numbers, "handset": _handset, "tail": _tail, "send": _send,
}


@dataclass(frozen=True)
class Step:
    """One README block, told by its language and a text only it contains: run, or not run and why."""

    language: str
    contains: str
    run: Callable[[Reader, str], None] | None = None
    not_run: str | None = None


STEPS = [
    Step("sh", "pip install .", not_run="installs Loft from the package index into the checkout's .venv, then serves "
         "on port 8080 until stopped; this test runs the same `loft serve` from the suite's install, on a free "
         "port (test_serve_says_where_the_console_is checks what it prints)"),
    Step("sh", "./scripts/test", not_run="it is the command that runs this suite (tests/test_self_contained.py "
         "checks that a clone of the repository collects it all)"),
    Step("python", "incoming_phone_numbers.create", run=buy_number),
    Step("python", "messages.create", run=send_with_python),
    Step("js", 'require("twilio")', run=send_with_node),
    Step("sh", "curl ", run=send_with_curl),
    Step("csv", "phone,first_name", run=save_as("recipients.csv")),
    Step("sh", "loft handset", run=use_the_terminal_tools),
    Step("sh", "python -m bench", not_run="benchmark runs take minutes (the quick one ~4 min) and the full one "
         "rewrites docs/benchmarks.md"),
]


def plan(markdown: str) -> list[tuple[Block, Step]]:
    """Each README block with its step, in README order; every block has exactly one, every step one block."""
    planned: list[tuple[Block, Step]] = []
    for block in blocks(markdown):
        matching = [step for step in STEPS if step.language == block.language and step.contains in block.text]
        assert len(matching) == 1, (f"README.md line {block.line}: a ```{block.language} block matched by "
                                    f"{len(matching)} steps: give it exactly one in tests/test_readme.py's STEPS "
                                    f"(run it, or say why not)")
        planned.append((block, matching[0]))
    unused = [step for step in STEPS if step not in [step for _, step in planned]]
    assert not unused, f"steps with no README block (remove them): {unused}"
    return planned


@pytest.fixture
def bot() -> Iterator[Receiver]:
    started = receivers.start()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def reader(tmp_path: Path, bot: Receiver) -> Iterator[Reader]:
    home = tmp_path / "loft"
    home.mkdir()
    (home / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    server = make_server(home / ".loft")
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("LOFT_", "TWILIO_")) and name != "VIRTUAL_ENV"}
    env.update(PATH=os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep) if part != venv_bin),
               COLUMNS="200", LINES="50", TERM="xterm-256color")
    with server.running():
        yield Reader(server, bot, home, env)


def test_every_block_is_run_or_listed_with_a_reason() -> None:
    planned = plan(README.read_text())
    assert all((step.run is None) != (step.not_run is None) for _, step in planned)


def test_a_block_with_a_placeholder_the_table_does_not_know_fails(tmp_path: Path, bot: Receiver) -> None:
    server = make_server(tmp_path)
    table = substitutions(server, bot)
    assert filled_in(Block("python", 'Client("AC…", "your Loft auth token")', 1), table) == \
        f'Client("{server.account_sid}", "{server.auth_token}")'
    with pytest.raises(AssertionError, match="'SK…' is a placeholder"):
        filled_in(Block("python", 'Client("SK…", "your Loft auth token", "AC…")', 7), table)
    with pytest.raises(AssertionError, match="'your key secret' is a placeholder"):
        filled_in(Block("sh", "curl -u 'AC…:your key secret'", 7), table)


def test_the_readme_runs_top_to_bottom(reader: Reader) -> None:
    table = substitutions(reader.server, reader.bot)
    for block, step in plan(README.read_text()):
        if step.run is None:
            continue
        try:
            step.run(reader, filled_in(block, table))
        except (AssertionError, pexpect.ExceptionPexpect, subprocess.SubprocessError) as exc:
            raise AssertionError(f"README.md line {block.line} (```{block.language}) does not run as written: "
                                 f"{exc}\n--- server log ---\n{reader.server.log()[-3000:]}") from exc
    if reader.not_run:
        pytest.skip("NOT RUN: " + "; ".join(reader.not_run))


def test_serve_says_where_the_console_is(reader: Reader) -> None:
    assert f"{reader.server.base_url}/console" in reader.server.log()


def test_the_root_leads_to_the_console(reader: Reader) -> None:
    answer = httpx.get(reader.server.base_url + "/")
    assert (answer.status_code, answer.headers["location"]) == (302, "/console")
    signin = httpx.get(reader.server.base_url + "/", follow_redirects=True)
    assert signin.status_code == 200 and signin.url.path == "/console/signin"


_SNIPPET = re.compile(r'<pre id="snippet-(\w+)">(.*?)</pre>', re.DOTALL)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_dashboard_shows_the_readmes_snippets(reader: Reader) -> None:
    """The same number and the same forms: the dashboard's snippets, token shown, are the README's filled in."""
    server = reader.server
    with httpx.Client(base_url=server.base_url, follow_redirects=True) as browser:
        token = _CSRF.search(browser.get("/console/signin").text)
        assert token is not None
        dashboard = browser.post("/console/signin", data={"username": server.account_sid,
                                                          "password": server.auth_token, "csrf_token": token[1]})
        token = _CSRF.search(dashboard.text)
        assert token is not None
        shown = browser.post("/console/reveal", data={"csrf_token": token[1]})
    assert shown.status_code == 200
    snippets = {name: html.unescape(text) for name, text in _SNIPPET.findall(shown.text)}
    table = substitutions(server, reader.bot)
    readme = {step.contains: filled_in(block, table).rstrip("\n") for block, step in plan(README.read_text())}
    assert snippets["buy"] == readme["incoming_phone_numbers.create"]
    assert snippets["python"] == readme["messages.create"]
    assert snippets["node"] == readme['require("twilio")']
    assert snippets["curl"] == readme["curl "]
