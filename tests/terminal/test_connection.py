"""How the terminal tools find their server and credentials: ``LOFT_URL`` and the names the Twilio SDKs and
twilio-cli read (``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_API_KEY``, ``TWILIO_API_SECRET``), never
the server's ``LOFT_ACCOUNT_SID`` / ``LOFT_AUTH_TOKEN``; and ``loft credentials --export``, which sets them."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

from twilio.rest import Client

from tests.support.server import LoftServer


def tool(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``loft …`` in a shell that has ``env`` and no other ``LOFT_*`` or ``TWILIO_*`` variable."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("LOFT_", "TWILIO_"))}
    return subprocess.run([sys.executable, "-m", "loft", *args], env={**clean, "COLUMNS": "200", **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_tools_read_the_twilio_sdks_names(loft: LoftServer, account: tuple[str, str], sender: str) -> None:
    done = tool("numbers", "list", "--json",
                env={"LOFT_URL": loft.base_url, "TWILIO_ACCOUNT_SID": account[0], "TWILIO_AUTH_TOKEN": account[1]})
    assert done.returncode == 0, done.stdout + done.stderr
    assert [record["phone_number"] for record in json.loads(done.stdout)] == [sender]


def test_the_servers_pins_are_not_read_and_the_tools_say_which_names_are(loft: LoftServer,
                                                                          account: tuple[str, str]) -> None:
    server_names = {"LOFT_URL": loft.base_url, "LOFT_ACCOUNT_SID": account[0], "LOFT_AUTH_TOKEN": account[1]}
    done = tool("numbers", "list", env=server_names)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "set TWILIO_ACCOUNT_SID" in done.stdout
    assert "LOFT_ACCOUNT_SID and LOFT_AUTH_TOKEN are loft serve's settings" in done.stdout
    done = tool("numbers", "list", "--account-sid", account[0], env=server_names)
    assert done.returncode == 1 and "--auth-token (TWILIO_AUTH_TOKEN)" in done.stdout


def test_an_api_key_from_the_environment(loft: LoftServer, client: Client, account: tuple[str, str],
                                         sender: str) -> None:
    key = client.new_keys.create(friendly_name="terminal")
    done = tool("numbers", "list", "--json", env={"LOFT_URL": loft.base_url, "TWILIO_ACCOUNT_SID": account[0],
                                                  "TWILIO_API_KEY": key.sid, "TWILIO_API_SECRET": key.secret})
    assert done.returncode == 0, done.stdout + done.stderr
    assert [record["phone_number"] for record in json.loads(done.stdout)] == [sender]


def test_credentials_export_sets_up_the_tools(loft: LoftServer) -> None:
    loft_command = f"{shlex.quote(sys.executable)} -m loft"
    script = (f'eval "$({loft_command} credentials --export)" && {loft_command} numbers list --json && '
              'echo "$LOFT_URL $TWILIO_ACCOUNT_SID $TWILIO_AUTH_TOKEN"')
    # The server's data dir and port, not its pins: `loft credentials` reads the account from the data dir.
    shell = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False,
        env={**{key: value for key, value in os.environ.items() if not key.startswith(("LOFT_", "TWILIO_"))},
             "LOFT_DATA_DIR": str(loft.data_dir), "LOFT_PORT": str(loft.port)})
    assert shell.returncode == 0, shell.stdout + shell.stderr
    *listing, exported = shell.stdout.strip().splitlines()
    assert isinstance(json.loads("\n".join(listing)), list)
    assert exported.split() == [loft.base_url, loft.account_sid, loft.auth_token]
