"""The recipes in deploy/: the systemd unit passes ``systemd-analyze verify``; the container's health check is run
as written against a real server. (No container engine here: the image itself is not built.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import LoftServer, free_port

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = (DEPLOY / "loft.service").read_text()
    assert "ExecStart=/opt/loft/bin/loft serve --config ${CREDENTIALS_DIRECTORY}/loft.toml" in unit
    loft = Path(sys.executable).parent / "loft"  # verify checks that the command exists: this installation's
    (tmp_path / "loft.service").write_text(unit.replace("/opt/loft/bin/loft", str(loft)))
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "loft.service")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout + done.stderr == ""  # unknown keys and bad values are only warned about


def test_the_image_runs_loft_as_a_user_of_its_own_with_its_data_in_a_volume() -> None:
    dockerfile = _dockerfile()
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users == ["loft"]
    data_dir = re.search(r"LOFT_DATA_DIR=(\S+)", dockerfile)
    assert data_dir is not None
    assert f'VOLUME ["{data_dir[1]}"]' in dockerfile
    assert 'CMD ["loft", "serve"]' in dockerfile


def test_the_image_s_health_check_asks_readyz(loft: LoftServer) -> None:
    check = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", _dockerfile(), re.MULTILINE)
    assert check is not None
    command = json.loads(check[1])
    assert command[0] == "python"
    command[0] = sys.executable
    ready = subprocess.run(command, env={**os.environ, "LOFT_PORT": str(loft.port)}, capture_output=True,
                           timeout=30)
    assert ready.returncode == 0, ready.stderr
    nobody = subprocess.run(command, env={**os.environ, "LOFT_PORT": str(free_port())}, capture_output=True,
                            timeout=30)
    assert nobody.returncode != 0
