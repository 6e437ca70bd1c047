"""The TOML settings file (``LOFT_CONFIG`` / ``loft serve --config``): every ``LOFT_*`` setting can be set in it;
options win over the environment, which wins over the file, which wins over the defaults; a key that names no
setting, a file that is not TOML or not there stops Loft with one line and nothing created."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from loft.config import Settings
from tests.support.server import free_port
from tests.support.waiting import eventually

#: Settings whose type alone does not give a value they accept: one each, different from the default.
SAMPLES: dict[str, Any] = {
    "data_dir": "/srv/loft",
    "database_url": "postgresql://loft@db.internal:5432/loft",
    "host": "0.0.0.0",
    "public_url": "https://sms.example.com",
    "sender_mps": {"local": 2.0, "tollFree": 3.0},
    "account_sid": "AC" + "1f" * 16,
    "auth_token": "0123456789abcdef0123456789abcdef",
    "secret_key": "Qb5vEmn0u2p1TqdJdqS3xR1t1mJmZq3cQv8v5pHf3Xw=",
    "sms_prices": {"US": "0.0100", "*": "0.0600"},
    "mms_prices": {"US": "0.0300", "*": "0.0500"},
    "price_unit": "EUR",
    "sqlite_synchronous": "NORMAL",
    "log_level": "debug",
    "log_format": "json",
    "metrics": "a-bearer-token-for-scrapes-0123",
    "outbound_deny": "loopback,private",
    "trusted_proxies": "10.0.0.0/8",
    "carriers_file": "/etc/loft/carriers.toml",
    "carriers_here": "per-worker",
}


def sample(name: str, field: FieldInfo) -> Any:
    """A value for the setting ``name`` other than its default: from :data:`SAMPLES`, or from its type (a number
    one step past its default, the other boolean)."""
    if name in SAMPLES:
        return SAMPLES[name]
    default = field.default
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default * 2
    raise AssertionError(f"add a sample value for the setting {name!r} to SAMPLES")


def toml(values: dict[str, Any]) -> str:
    """``values`` as TOML (strings, numbers, booleans and flat tables are all the settings need)."""
    def literal(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, dict):
            return "{" + ", ".join(f'"{key}" = {literal(item)}' for key, item in value.items()) + "}"
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "".join(f"{key} = {literal(value)}\n" for key, value in values.items())


def comparable(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {key: str(item) if isinstance(item, Decimal) else item for key, item in value.items()}
    return value


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``LOFT_*`` variable from the test run's environment (the file is then the only source)."""
    for name in list(os.environ):
        if name.startswith("LOFT_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_environment")
def test_every_setting_can_be_set_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = {name: sample(name, field) for name, field in Settings.model_fields.items()}
    assert set(wanted) == set(Settings.model_fields)  # derived from the settings themselves: none is left out
    defaults = Settings()
    for name, value in wanted.items():
        assert comparable(getattr(defaults, name)) != comparable(value), f"{name}: the sample is the default"
    path = tmp_path / "loft.toml"
    path.write_text(toml(wanted))
    monkeypatch.setenv("LOFT_CONFIG", str(path))
    settings = Settings()
    for name, value in wanted.items():
        assert comparable(getattr(settings, name)) == value, name


@pytest.mark.usefixtures("clean_environment")
def test_options_win_over_the_environment_which_wins_over_the_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "loft.toml"
    path.write_text(toml({"port": 1111, "host": "0.0.0.0", "worker_concurrency": 7}))
    monkeypatch.setenv("LOFT_CONFIG", str(path))
    monkeypatch.setenv("LOFT_PORT", "2222")
    monkeypatch.setenv("LOFT_HOST", "127.0.0.2")
    settings = Settings(host="127.0.0.3")
    assert settings.host == "127.0.0.3"  # option
    assert settings.port == 2222  # environment
    assert settings.worker_concurrency == 7  # file
    assert settings.max_connections == 1000  # default


def _environment(**more: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LOFT_")}, **more}


def test_loft_serve_takes_its_settings_from_config_and_its_options_over_them(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    in_file, in_option = free_port(), free_port()
    path = tmp_path / "loft.toml"
    sid, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    path.write_text(toml({"port": in_file, "data_dir": str(data_dir), "account_sid": sid, "auth_token": token,
                          "worker_processes": 1}))
    for command, port in ((["--config", str(path)], in_file),
                          (["--config", str(path), "--port", str(in_option)], in_option)):
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen([sys.executable, "-m", "loft", "serve", *command], env=_environment(),
                                       stdout=output, stderr=subprocess.STDOUT)
        try:
            def answers() -> bool:
                try:
                    return httpx.get(f"http://127.0.0.1:{port}/2010-04-01/Accounts/{sid}.json", auth=(sid, token),
                                     timeout=1).status_code == 200
                except httpx.TransportError:
                    return process.poll() is not None  # (it died: said below)

            eventually(answers, timeout=30)
            assert process.poll() is None, log.read_text()
        finally:
            process.terminate()
            process.wait(30)
    assert (data_dir / "loft.db").exists()


@pytest.mark.parametrize("content, expected", [
    pytest.param("prot = 8081\n", "unknown setting 'prot' (did you mean 'port'?)", id="typo"),
    pytest.param("LOFT_PORT = 8081\n", "unknown setting 'LOFT_PORT' (did you mean 'port'?)", id="variable-name"),
    pytest.param("[server]\nport = 8081\n", "unknown setting 'server'", id="table"),
    pytest.param("port = \n", "is not valid TOML: Invalid value (at line 1, column 8)", id="not-toml"),
    pytest.param(None, "is not a file", id="missing"),
])
def test_a_file_loft_cannot_use_stops_it_with_one_line_and_nothing_created(
        tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "loft.toml"
    if content is not None:
        path.write_text(content)
    data_dir = tmp_path / "data"
    for how in (["--config", str(path)], []):  # the option, and the variable
        env = _environment(LOFT_DATA_DIR=str(data_dir), **({} if how else {"LOFT_CONFIG": str(path)}))
        done = subprocess.run([sys.executable, "-m", "loft", "serve", *how], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1  # (loft.startup.EXIT_CODE, as for every startup mistake)
        assert done.stdout == ""
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(str(path) if content is not None else "LOFT_CONFIG: ")
        assert expected in lines[0]
        assert not data_dir.exists()
