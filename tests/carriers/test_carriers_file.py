"""A carriers file with a mistake stops ``loft serve`` (and ``loft worker``) with one line naming the file and the
problem, exit status 1, no traceback, no secret repeated, and nothing created (loft/delivery/carriers/plan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.server import free_port
from tests.test_startup import loft, refused

SID = "AC" + "a" * 32
RELAY = f'[carriers.up]\ntype = "twilio"\naccount_sid = "{SID}"\nauth_token = "hunter2-token"\n'


@pytest.mark.parametrize("text, words", [
    pytest.param('[carriers.x]\ntype = "smtp"\n', ["carriers.x", "unknown carrier type 'smtp'", '"twilio"'],
                 id="unknown-type"),
    pytest.param('[carriers.x]\nhost = "127.0.0.1"\n', ["carriers.x", "no type"], id="no-type"),
    pytest.param('[carriers.up]\ntype = "twilio"\nauth_token = "hunter2-token"\n',
                 ["carriers.up.account_sid", "missing (required)"], id="missing-field"),
    pytest.param('[carriers.up]\ntype = "twilio"\naccount_sid = "hunter2-token"\nauth_token = "hunter2-token"\n',
                 ["carriers.up.account_sid", "pattern"], id="bad-account-sid"),
    pytest.param(RELAY + 'colour = "blue"\n', ["carriers.up.colour", "unknown setting"], id="unknown-setting"),
    pytest.param(RELAY + 'base_url = "ftp://upstream"\n', ["carriers.up.base_url", "http(s) URL"], id="bad-base-url"),
    pytest.param(RELAY + f'api_key_sid = "SK{"b" * 32}"\n', ["api_key_sid and api_key_secret go together"],
                 id="key-without-secret"),
    pytest.param(RELAY + '[[routes]]\nprefix = "+44"\ncarrier = "nope"\n',
                 ["the route for +44 names carrier 'nope', which is not in [carriers]"], id="route-to-no-carrier"),
    pytest.param(RELAY + '[[routes]]\nprefix = "44"\ncarrier = "up"\n', ["routes[0].prefix"], id="prefix-without-plus"),
    pytest.param(RELAY + '[[routes]]\nprefix = "+44"\ncarrier = "up"\n[[routes]]\nprefix = "+44"\ncarrier = "sim"\n',
                 ["two routes for the prefix +44"], id="two-routes-one-prefix"),
    pytest.param('[carriers.up\ntype = "twilio"\n', ["is not valid TOML", "line 1"], id="bad-toml"),
])
def test_a_carriers_file_mistake_is_one_line_naming_the_file_and_nothing_is_created(
        tmp_path: Path, text: str, words: list[str]) -> None:
    file = tmp_path / "carriers.toml"
    file.write_text(text)
    data_dir = tmp_path / "data"
    said = refused(loft("serve", "--port", str(free_port()), "--data-dir", str(data_dir),
                        env={"LOFT_CARRIERS_FILE": str(file)}), "LOFT_CARRIERS_FILE", str(file), *words)
    assert len(said.strip().splitlines()) == 1
    assert "hunter2" not in said
    assert not data_dir.exists()


def test_a_carriers_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    missing = tmp_path / "nowhere.toml"
    said = refused(loft("serve", "--port", str(free_port()), "--data-dir", str(data_dir),
                        env={"LOFT_CARRIERS_FILE": str(missing)}), "LOFT_CARRIERS_FILE", f"cannot read {missing}")
    assert len(said.strip().splitlines()) == 1
    assert not data_dir.exists()


def test_loft_worker_refuses_the_same_file_with_the_same_line(tmp_path: Path) -> None:
    file = tmp_path / "carriers.toml"
    file.write_text('[carriers.x]\ntype = "smtp"\n')
    data_dir = tmp_path / "data"
    serve = refused(loft("serve", "--port", str(free_port()), "--data-dir", str(data_dir),
                         env={"LOFT_CARRIERS_FILE": str(file)}))
    worker = refused(loft("worker", "--data-dir", str(data_dir), env={"LOFT_CARRIERS_FILE": str(file)}))
    assert serve == worker
    assert not data_dir.exists()
