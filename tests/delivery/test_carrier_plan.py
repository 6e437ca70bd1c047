"""The carriers file: what it accepts, the one line each mistake gets, and longest-prefix routing."""

from __future__ import annotations

import pytest

from loft.delivery.carriers import plan
from loft.errors import ConfigurationError

SMSC = """
[carriers.smsc]
type = "smpp"
host = "127.0.0.1"
port = 2775
system_id = "loft"
password = "hunter2!"  # SMPP 3.4: 8 characters at most
"""
UPSTREAM = """
[carriers.upstream]
type = "twilio"
base_url = "http://127.0.0.1:9/"
account_sid = "AC00000000000000000000000000000001"
auth_token = "upstream-token-secret"
"""


def _plan(text: str) -> plan.Plan:
    return plan.parse(text, "carriers.toml")


def test_no_file_sends_everything_to_the_simulator() -> None:
    assert plan.load(None).route("+447700900123") == plan.SIM
    assert plan.load(None).carriers == {}


def test_the_longest_matching_prefix_wins_and_the_rest_stays_on_the_simulator() -> None:
    routes = """
[[routes]]
prefix = "+44"
carrier = "smsc"
[[routes]]
prefix = "+447700"
carrier = "upstream"
[[routes]]
prefix = "+4477009"
carrier = "sim"
"""
    found = _plan(SMSC + UPSTREAM + routes)
    assert found.route("+442071838750") == "smsc"
    assert found.route("+447700123456") == "upstream"
    assert found.route("+447700900123") == plan.SIM
    assert found.route("+14155550123") == plan.SIM
    assert set(found.relays()) == {"upstream"}


def test_settings_are_parsed_with_their_defaults() -> None:
    found = _plan(SMSC + UPSTREAM)
    smsc = found.carriers["smsc"]
    assert isinstance(smsc, plan.SmppSettings)
    assert (smsc.bind, smsc.window, smsc.concatenation, smsc.instances) == ("transceiver", 10, "udh", "one")
    assert (smsc.response_seconds, smsc.reconnect_max_seconds, smsc.mo_parts_seconds, smsc.receipt_errors) == (
        10, 30, 60, {})
    upstream = found.carriers["upstream"]
    assert isinstance(upstream, plan.TwilioSettings)
    assert upstream.base_url == "http://127.0.0.1:9"


def test_secrets_never_print() -> None:
    found = _plan(SMSC + UPSTREAM)
    assert "hunter2" not in repr(found) and "upstream-token" not in repr(found)
    assert "hunter2" not in str(found.carriers)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("[carriers.x]\ntype = 'carrier-pigeon'\n",
                 "carriers.toml: carriers.x: unknown carrier type 'carrier-pigeon'", id="unknown-type"),
    pytest.param("[carriers.x]\nhost = 'h'\n", "carriers.toml: carriers.x: no type", id="no-type"),
    pytest.param(SMSC.replace('system_id = "loft"\n', ""), "carriers.toml: carriers.smsc.system_id: missing",
                 id="missing-field"),
    pytest.param(SMSC.replace("2775", "70000"), "carriers.toml: carriers.smsc.port: Input should be less than",
                 id="bad-port"),
    pytest.param(SMSC + "colour = 'blue'\n", "carriers.toml: carriers.smsc.colour: unknown setting",
                 id="unknown-setting"),
    pytest.param(SMSC.replace('"hunter2!"', '"hunter2-too-long"'),
                 "carriers.toml: carriers.smsc.password: at most 8 characters (SMPP 3.4)", id="smpp-password-too-long"),
    pytest.param(SMSC + "receipt_errors = {'001' = 21211}\n",
                 "carriers.toml: carriers.smsc.receipt_errors.001: Input should be 30003, 30004", id="receipt-error-code"),
    pytest.param(SMSC + "[[routes]]\nprefix = '+44'\ncarrier = 'smcs'\n",
                 "names carrier 'smcs', which is not in [carriers]", id="route-to-nothing"),
    pytest.param(SMSC + "[[routes]]\nprefix = '44'\ncarrier = 'smsc'\n", "routes[0].prefix", id="prefix-without-plus"),
    pytest.param(SMSC + "[[routes]]\nprefix = '+44'\ncarrier = 'smsc'\n[[routes]]\nprefix = '+44'\ncarrier = 'sim'\n",
                 "two routes for the prefix +44", id="same-prefix-twice"),
    pytest.param(SMSC.replace("[carriers.smsc]", "[carriers.sim]"), "not 'sim', the simulator's", id="reserved-name"),
    pytest.param(UPSTREAM.replace('auth_token = "upstream-token-secret"\n', 'api_key_sid = "SK' + "0" * 32 + '"\n'),
                 "carriers.upstream.auth_token: missing", id="relay-without-auth-token"),
    pytest.param("[carriers.smsc\n", "carriers.toml is not valid TOML", id="bad-toml"),
])
def test_each_mistake_is_one_line_naming_the_file_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _plan(text)
    line = str(refused.value)
    assert line.startswith("LOFT_CARRIERS_FILE: ")
    assert expected in line
    assert "\n" not in line
    assert "hunter2" not in line and "upstream-token" not in line


def test_an_unreadable_file_is_one_line(tmp_path: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^LOFT_CARRIERS_FILE: cannot read /nonexistent/carriers.toml"):
        plan.load("/nonexistent/carriers.toml")
