"""The child processes a ``loft serve`` under test supervises, read from /proc."""

from __future__ import annotations

from pathlib import Path

from tests.support.server import LoftServer
from tests.support.waiting import eventually


def supervised(server: LoftServer, command: str) -> list[int]:
    """The pids of the server's supervised children running ``loft <command>`` (``serve`` or ``worker``)."""
    assert server.process is not None
    pid = server.process.pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    wanted = {command.encode(), b"--supervised"}
    return [int(child) for child in children if wanted <= set(_arguments(int(child)))]


def only(server: LoftServer, command: str) -> int:
    """The server's one supervised ``loft <command>`` child, once it has started."""
    pids: list[int] = eventually(lambda: supervised(server, command), timeout=30)
    assert len(pids) == 1, pids
    return pids[0]


def gone(pid: int) -> bool:
    """Exited: no longer in /proc, or a zombie nobody has reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _arguments(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []
