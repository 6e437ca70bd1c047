"""``loft send --to-file``: a person sends a templated message to a list, in a terminal."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pexpect
import pytest
from twilio.rest import Client

from loft.terminal import bulk
from loft.terminal.client import LoftClient
from tests.support.server import LoftServer
from tests.support.waiting import eventually
from tests.terminal.conftest import Terminal, before

BODY = "Hi {{ first_name }}, your link: https://shop.test/r?c={{ coupon | url_param_escape }}"


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _inbox(loft: LoftServer, account: tuple[str, str], handset: str) -> list[str]:
    response = httpx.get(f"{loft.base_url}/sim/v1/Handsets/{handset}/Messages", auth=account)
    assert response.status_code == 200, response.text
    return [message["body"] for message in response.json()["messages"]]


_ROWS = [
    ["phone", "first_name", "coupon"],
    ["+15550020001", "Ada", "SPRING 10%&more"],
    ["+15550020002", "Grace", "G2"],
    ["", "Nobody", "N0"],                 # no phone: 21604
    ["+15550020003", "Linus"],            # no coupon: undefined in strict mode
    ["+15550020004", "Alan", "A4"],
    ["12", "Bad", "B5"],                  # not a phone number as Loft parses them: 21211
]


def test_bad_rows_are_listed_before_anything_is_asked_and_nothing_is_sent(
        client: Client, sender: str, terminal: Terminal, tmp_path: Path) -> None:
    recipients = _write(tmp_path / "recipients.csv", _ROWS)
    send = terminal.spawn("send", "--to-file", str(recipients), "--from", sender, "--body", BODY, "--yes")
    send.expect(pexpect.EOF)
    send.close()
    output = before(send)
    assert send.exitstatus == 1
    assert "3 of 6 row(s) cannot be sent:" in output
    assert "row 4: Error 21604: A 'To' phone number is required." in output
    assert "row 5: body: 'coupon' is undefined" in output
    assert "row 7: Error 21211: The 'To' number 12 is not a valid phone number." in output
    assert "Nothing was sent." in output and "Fix these rows, or pass --skip-invalid to send the other 3" in output
    assert "Preview" not in output and "Send 3" not in output
    assert client.messages.list(from_=sender) == []
    assert not list(tmp_path.glob("send-report-*.csv"))


def test_a_long_list_of_bad_rows_shows_the_first_twenty(client: Client, sender: str, cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    recipients = _write(tmp_path / "r.csv", [["phone"], ["+15550028001"], *[[str(n)] for n in range(25)]])
    result = subprocess.run([sys.executable, "-m", "loft", "send", "--to-file", str(recipients), "--from", sender,
                             "--body", "x", "--yes"], env=cli_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    listed = [line for line in result.stdout.splitlines() if line.startswith("  row ")]
    assert len(listed) == 20 and listed[0] == "  row 3: Error 21211: The 'To' number 0 is not a valid phone number."
    assert "  … and 5 more" in result.stdout and "25 of 26 row(s) cannot be sent" in result.stdout
    assert client.messages.list(from_=sender) == []


def test_skip_invalid_previews_asks_sends_the_good_rows_and_reports_every_row(
        loft: LoftServer, account: tuple[str, str], client: Client, sender: str, terminal: Terminal,
        tmp_path: Path) -> None:
    recipients = _write(tmp_path / "recipients.csv", _ROWS)
    report = tmp_path / "out" / "report.csv"
    send = terminal.spawn("send", "--to-file", str(recipients), "--from", sender, "--body", BODY,
                          "--report", str(report), "--rate", "50", "--skip-invalid")
    send.expect_exact("3 of 6 row(s) will be skipped (refused in the report):")
    send.expect_exact("row 7: Error 21211")
    send.expect("Preview")
    send.expect_exact("Hi Ada, your link: https://shop.test/r?c=SPRING%2010%25%26more")
    send.expect_exact("Hi Grace, your link: https://shop.test/r?c=G2")
    send.expect_exact("Hi Alan")
    send.expect_exact("Send 3 message(s)?")
    assert _inbox(loft, account, "+15550020001") == []  # nothing leaves before the answer
    send.sendline("y")
    send.expect_exact("3 accepted")
    send.expect_exact("3 refused")
    send.expect(pexpect.EOF)
    send.close()
    assert send.exitstatus == 1  # some rows were refused

    rows = _report(report)
    assert [(row["row"], row["recipient"], row["status"], row["error_code"]) for row in rows] == [
        ("2", "+15550020001", "accepted", ""),
        ("3", "+15550020002", "accepted", ""),
        ("4", "", "refused", "21604"),
        ("5", "+15550020003", "refused", ""),
        ("6", "+15550020004", "accepted", ""),
        ("7", "12", "refused", "21211"),
    ]
    assert "'coupon' is undefined" in rows[3]["error_message"]
    assert "not a valid phone number" in rows[5]["error_message"]
    sent = {message.sid: message for message in client.messages.list(from_=sender)}
    assert {rows[i]["message_sid"] for i in (0, 1, 4)} == set(sent)  # row 7 never reached Loft
    assert sent[rows[0]["message_sid"]].to == "+15550020001"

    assert eventually(lambda: _inbox(loft, account, "+15550020001")) == [
        "Hi Ada, your link: https://shop.test/r?c=SPRING%2010%25%26more"]
    assert eventually(lambda: _inbox(loft, account, "+15550020002")) == ["Hi Grace, your link: https://shop.test/r?c=G2"]
    assert eventually(lambda: _inbox(loft, account, "+15550020004")) == ["Hi Alan, your link: https://shop.test/r?c=A4"]
    assert _inbox(loft, account, "+15550020003") == []


@pytest.mark.parametrize(("options", "env", "line"), [
    pytest.param(["--from", "+14155550199"], {}, "Error 21606: --from +14155550199 is not an SMS-capable number of "
                 "account {account}", id="a-number-the-account-does-not-own"),
    pytest.param(["--from", "not a sender!"], {}, "Error 21212: The 'From' number not a sender! is not a valid "
                 "phone number", id="a-malformed-from"),
    pytest.param(["--from", "{sender}", "--status-callback", "ftp://x.test/s"], {}, "Error 21609", id="bad-callback"),
    pytest.param(["--messaging-service-sid", "MG" + "0" * 32], {}, "Error 21705: --messaging-service-sid "
                 "MG" + "0" * 32 + " is not a Messaging Service of account {account}", id="not-a-service-of-the-account"),
    pytest.param(["--messaging-service-sid", "MG12"], {}, "Error 21705: The Messaging Service Sid MG12 is invalid",
                 id="a-malformed-service-sid"),
    pytest.param(["--from", "{sender}"], {"TWILIO_AUTH_TOKEN": "0" * 32}, "Error 20003", id="wrong-credentials"),
])
def test_a_bad_sender_or_credentials_stop_the_send_in_one_line_before_anything(
        client: Client, sender: str, account: tuple[str, str], cli_env: dict[str, str], tmp_path: Path,
        options: list[str], env: dict[str, str], line: str) -> None:
    recipients = _write(tmp_path / "r.csv", [["phone"], ["+15550027001"], ["12"]])  # a bad row, too: later
    result = subprocess.run([sys.executable, "-m", "loft", "send", "--to-file", str(recipients), "--body", "x",
                             *(option.format(sender=sender) for option in options)],
                            env={**cli_env, **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.startswith(line.format(account=account[0])), result.stdout
    assert len(result.stdout.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert client.messages.list(to="+15550027001") == []


def test_declining_the_prompt_sends_nothing(client: Client, sender: str, terminal: Terminal,
                                            tmp_path: Path) -> None:
    recipients = _write(tmp_path / "r.csv", [["To", "name"], ["+15550021001", "Ada"]])
    send = terminal.spawn("send", "--to-file", str(recipients), "--from", sender, "--body", "Hi {{ name }}")
    send.expect_exact("Send 1 message(s)?")
    send.sendline("n")
    send.expect_exact("Nothing was sent")
    send.expect(pexpect.EOF)
    send.close()
    assert send.exitstatus == 1
    assert client.messages.list(from_=sender) == []


def test_body_file_media_urls_and_the_default_report_name(loft: LoftServer, account: tuple[str, str],
                                                          client: Client, sender: str, terminal: Terminal,
                                                          tmp_path: Path) -> None:
    recipients = _write(tmp_path / "r.csv", [["Phone", "name", "sku"], ["+15550022001", "Ada", "X 1"]])
    (tmp_path / "body.liquid").write_text("{% if name == 'Ada' %}Dear {{ name | upcase }}{% endif %}\n")
    send = terminal.spawn("send", "--to-file", str(recipients), "--from", sender, "--body-file",
                          str(tmp_path / "body.liquid"), "--media-url",
                          "https://cdn.test/{{ sku | url_param_escape }}.png", "--yes")
    send.expect_exact("1 accepted")
    send.expect(pexpect.EOF)
    send.close()
    assert send.exitstatus == 0
    (report,) = tmp_path.glob("send-report-*.csv")  # in the working directory
    (row,) = _report(report)
    assert row["status"] == "accepted"
    message = client.messages(row["message_sid"]).fetch()
    assert message.body == "Dear ADA\n" and message.num_media == "1"


def test_rate_limits_the_sends(client: Client, sender: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    recipients = _write(tmp_path / "r.csv", [["phone"], *[[f"+155500230{i:02d}"] for i in range(10)]])
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "loft", "send", "--to-file", str(recipients), "--from", sender,
                             "--body", "tick", "--rate", "3", "--yes", "--report", str(tmp_path / "r.out.csv")],
                            env=cli_env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed >= 3.0  # ten sends at 3/s: the last leaves 3 s after the first
    created = sorted(message.date_created for message in client.messages.list(from_=sender))
    assert len(created) == 10
    assert (created[-1] - created[0]).total_seconds() >= 2  # to the second: 3 s apart, at least 2 apart


def _throttling(answers: list[int]) -> tuple[LoftClient, list[float]]:
    """A remote gateway that answers 429 (Twilio's 20429) before accepting; Loft itself never throttles."""
    seen: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        status = answers.pop(0) if answers else 201
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "0.2"}, json={
                "code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
                "status": 429})
        return httpx.Response(201, json={"sid": "SM" + "0" * 32, "status": "queued"})

    return LoftClient("http://gateway.test", "AC" + "1" * 32, "token", "AC" + "1" * 32,
                      transport=httpx.MockTransport(handle)), seen


def test_a_429_is_retried_after_backing_off() -> None:
    client, seen = _throttling([429, 429])
    outcome = bulk.send_one(client, bulk.Pacer(100), bulk.Sender("+14155550100"), bulk.Outgoing(2, "+15550024001", "hi"))
    assert outcome.status == "accepted" and outcome.message_sid == "SM" + "0" * 32
    assert len(seen) == 3
    assert seen[1] - seen[0] >= 0.2 and seen[2] - seen[1] >= 0.2  # Retry-After was honoured


def test_a_send_throttled_on_every_try_is_refused_with_20429() -> None:
    client, seen = _throttling([429] * bulk.MAX_TRIES)
    outcome = bulk.send_one(client, bulk.Pacer(100), bulk.Sender("+14155550100"), bulk.Outgoing(2, "+15550024001", "hi"))
    assert (outcome.status, outcome.error_code, outcome.error_message) == ("refused", 20429, "Too Many Requests")
    assert len(seen) == bulk.MAX_TRIES


def test_pacer_spaces_slots_and_hold_pauses_everyone() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = bulk.Pacer(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        pacer.wait()
    assert slept == [0.25, 0.25]
    pacer.hold(2.0)
    pacer.wait()
    assert slept[-1] == 2.0


@pytest.mark.parametrize(("rows", "message"), [
    pytest.param([["name"], ["Ada"]], "no 'phone' or 'to' column", id="no-phone-column"),
    pytest.param([], "no 'phone' or 'to' column", id="empty-file"),
])
def test_a_recipients_file_without_a_phone_column_is_refused_up_front(cli_env: dict[str, str], sender: str,
                                                                      tmp_path: Path, rows: list[list[str]],
                                                                      message: str) -> None:
    recipients = _write(tmp_path / "r.csv", rows)
    result = subprocess.run([sys.executable, "-m", "loft", "send", "--to-file", str(recipients), "--from", sender,
                             "--body", "x", "--yes"], env=cli_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and message in result.stdout and "Traceback" not in result.stderr


def test_a_template_that_is_not_liquid_is_refused_before_anything(cli_env: dict[str, str], sender: str,
                                                                   tmp_path: Path) -> None:
    recipients = _write(tmp_path / "r.csv", [["phone"], ["+15550025001"]])
    result = subprocess.run([sys.executable, "-m", "loft", "send", "--to-file", str(recipients), "--from", sender,
                             "--body", "Hi {% if %}", "--yes"], env=cli_env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "not valid Liquid" in result.stdout
    assert not list(tmp_path.glob("send-report-*.csv"))


def test_a_report_that_cannot_be_written_stops_the_send_before_anything_leaves(
        client: Client, sender: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    recipients = _write(tmp_path / "r.csv", [["phone"], ["+15550026001"]])
    result = subprocess.run([sys.executable, "-m", "loft", "send", "--to-file", str(recipients), "--from", sender,
                             "--body", "x", "--yes", "--report", str(tmp_path)], env=cli_env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "Cannot write the report" in result.stdout
    assert client.messages.list(from_=sender) == []
