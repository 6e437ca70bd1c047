"""The SQLite files are the owner's alone: created 0600 (the data dir 0700) under a permissive umask, and
tightened at start when an older Loft left them readable by others."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import make_server
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import status_of
from tests.support.waiting import eventually

FILES = ("loft.db", "loft.db-wal", "loft.db-shm", "loft.db-writer", "secret.key")


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The umask the servers started in the block inherit (the usual one makes files 0644 and dirs 0755)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _server(tmp_path: Path) -> tuple[LoftServer, Path]:
    """A server whose data dir does not exist yet (its own log lives beside it)."""
    server = make_server(tmp_path)
    data = tmp_path / "data" / "loft"
    server.extra_env = {"LOFT_DATA_DIR": str(data)}
    return server, data


def _send_one(server: LoftServer) -> None:
    client = clients.sdk(server.base_url, server.account_sid, server.auth_token)
    sender = client.incoming_phone_numbers.create(area_code="415").phone_number
    message = client.messages.create(to="+15558679301", from_=sender, body="a body others must not read")
    eventually(lambda: status_of(client, message.sid) == "delivered")


def test_a_fresh_data_dir_and_its_files_are_the_owners_alone(tmp_path: Path) -> None:
    server, data = _server(tmp_path)
    with umask(0o022), server.running():
        _send_one(server)
        modes = {name: _mode(data / name) for name in FILES}  # -wal and -shm exist while the server runs
    assert modes == dict.fromkeys(FILES, 0o600)
    assert _mode(data) == 0o700
    assert _mode(data.parent) == 0o755  # parents Loft had to make are not its data dir: the umask decides


def test_files_left_readable_by_an_older_loft_are_tightened_at_start(tmp_path: Path) -> None:
    server, data = _server(tmp_path)
    with umask(0o022), server.running():
        _send_one(server)
    loose = [name for name in FILES[:4] if (data / name).exists()]
    assert "loft.db" in loose
    for name in loose:
        (data / name).chmod(0o644)
    with umask(0o022), server.running():
        _send_one(server)
        modes = {name: _mode(data / name) for name in FILES}
    assert modes == dict.fromkeys(FILES, 0o600)
    lines = [line for line in server.log().splitlines() if "made owner-only (0600)" in line]
    assert len(lines) == 1 and "loft.db (0644)" in lines[0], server.log()
