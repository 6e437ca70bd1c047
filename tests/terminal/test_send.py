"""``loft send`` for one message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from twilio.rest import Client

from tests.terminal.conftest import Cli


def test_send_one_message_prints_its_sid_and_status(client: Client, sender: str, cli: Cli) -> None:
    result = cli("send", "--from", sender, "--to", "+15550050001", "--body", "Hello {{ not_a_template }}",
                 "--media-url", "https://cdn.test/a.png", "--media-url", "https://cdn.test/b.png")
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"((?:SM|MM)[0-9a-f]{32}) queued\n", result.output)
    assert match is not None
    message = client.messages(match.group(1)).fetch()
    assert (message.to, message.from_, message.body) == ("+15550050001", sender, "Hello {{ not_a_template }}")
    assert message.num_media == "2"


def test_wait_follows_the_message_to_its_final_status(client: Client, sender: str, cli: Cli) -> None:
    result = cli("send", "--from", sender, "--to", "+15550050002", "--body", "hi", "--wait")
    assert result.exit_code == 0, result.output
    first, last = result.output.splitlines()
    assert first.endswith(" queued") and last.endswith(" delivered") and first.split()[0] == last.split()[0]


def test_body_file_is_sent_as_it_is(client: Client, sender: str, cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "body.txt").write_text("line one\nline two")
    result = cli("send", "--from", sender, "--to", "+15550050003", "--body-file", str(tmp_path / "body.txt"))
    assert result.exit_code == 0, result.output
    assert client.messages(result.output.split()[0]).fetch().body == "line one\nline two"


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["--to", "+1", "--body", "x"], "Error 21211: The 'To' number +1 is not a valid phone number.",
                 id="twilio-error"),
    pytest.param(["--to", "+15550050004"], "Error 21602", id="no-body"),
    pytest.param(["--body", "x"], "Give --to", id="no-recipient"),
    pytest.param(["--to", "+15550050004", "--to-file", "r.csv", "--body", "x"], "not both", id="to-and-to-file"),
    pytest.param(["--to", "+15550050004", "--body", "x", "--body-file", "b.txt"], "not both", id="two-bodies"),
])
def test_send_errors_are_one_clean_line(sender: str, cli: Cli, args: list[str], message: str) -> None:
    result = cli("send", "--from", sender, *args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_send_needs_a_sender(cli: Cli) -> None:
    result = cli("send", "--to", "+15550050005", "--body", "x")
    assert result.exit_code == 1 and "Give --from" in result.output


def test_send_through_a_messaging_service_waits_for_the_sender_it_chooses(client: Client, sender: str,
                                                                          cli: Cli) -> None:
    service = client.messaging.v1.services.create(friendly_name="cli")
    number_sid = client.incoming_phone_numbers.list(phone_number=sender)[0].sid
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number_sid)
    result = cli("send", "--messaging-service-sid", service.sid, "--to", "+15550050006", "--body", "hi", "--wait")
    assert result.exit_code == 0, result.output
    first, last = result.output.splitlines()
    assert first.endswith(" accepted") and last.endswith(" delivered")
    message = client.messages(first.split()[0]).fetch()
    assert (message.from_, message.messaging_service_sid) == (sender, service.sid)


def test_send_a_content_template_with_its_variables(client: Client, sender: str, cli: Cli) -> None:
    from twilio.rest.content.v1.content import ContentList

    template = client.content.v1.contents.create(ContentList.ContentCreateRequest({
        "friendly_name": "cli", "language": "en", "variables": {"1": "there"},
        "types": {"twilio/text": {"body": "Hi {{1}}, order {{2}} shipped"}}}))
    result = cli("send", "--from", sender, "--to", "+15550050007", "--content-sid", template.sid,
                 "--content-variables", '{"2": "A7"}', "--wait")
    assert result.exit_code == 0, result.output
    assert client.messages(result.output.split()[0]).fetch().body == "Hi there, order A7 shipped"
    refused = cli("send", "--from", sender, "--to", "+15550050007", "--content-sid", template.sid,
                  "--content-variables", "not json")
    assert refused.exit_code == 1 and "Error 21656" in refused.output and "Traceback" not in refused.output
