"""The repository is self-contained: what git holds, copied into a folder with nothing beside it (no
``../shared``), collects the whole suite without an error, and runs a test that validates Loft's answers
against Twilio's OpenAPI description (vendored in tests/twilio-oai).

The copy holds the files a commit of this working tree would hold (``git ls-files --cached --others
--exclude-standard``): in CI's fresh clone that is exactly the clone, and on a developer's machine the test
judges the tree being tested rather than the last commit. Git-ignored files (``.venv``, ``.loft``, caches) and
anything outside the repository are left behind. The copy runs with this test run's Python, whose packages are
the installed dependencies; ``python -m pytest`` in the copy imports ``loft`` and ``tests`` from the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: A quick test that goes through the SDK client checking every answer against tests/twilio-oai.
VALIDATING_TEST = "tests/accounts/test_accounts.py::test_fetch_main_account[sqlite]"


def tracked_files(root: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (root / name).is_file()]  # not files deleted since


def copy_of(root: Path, into: Path) -> Path:
    for name in tracked_files(root):
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return into


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("LOFT_", "PYTEST_")) and name != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def collected(folder: Path) -> list[str]:
    done = pytest_in(folder, "--collect-only", "-q")
    assert done.returncode == 0, f"collection in {folder} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
    summary = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ tests collected in [\d.]+s", summary), summary  # "…, 2 errors in …" otherwise
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_a_copy_with_nothing_beside_it_collects_and_runs_the_suite(tmp_path: Path) -> None:
    if shutil.which("git") is None or subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout: nothing tells what the repository holds")
    copy = copy_of(ROOT, tmp_path / "loft")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["loft"]  # no shared/ beside it

    in_copy = collected(copy)
    assert in_copy == collected(ROOT)
    assert len(in_copy) > 1000

    ran = pytest_in(copy, "-q", VALIDATING_TEST)
    assert ran.returncode == 0 and "1 passed" in ran.stdout, f"{ran.stdout}{ran.stderr}"
