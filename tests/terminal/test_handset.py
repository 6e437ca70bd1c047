"""``loft handset``: a person chats as a virtual handset in a terminal."""

from __future__ import annotations

import httpx
import pexpect
from twilio.rest import Client

from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually
from tests.terminal.conftest import Cli, Terminal, before, settled

HANDSET = "+15550001111"


def test_typing_ping_shows_the_bots_pong_once(client: Client, sender: str, receiver: Receiver,
                                              terminal: Terminal) -> None:
    receiver.answer("/bot", Answer(body="<Response><Message>pong</Message></Response>", content_type="text/xml"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/bot"))

    chat = terminal.spawn("handset", HANDSET, "--to", sender)
    chat.expect("texting")
    chat.sendline("ping")
    chat.expect("pong", timeout=20)

    (call,) = receiver.wait_for(lambda requests: len(requests) >= 1)
    assert call.param("From") == HANDSET and call.param("To") == sender and call.param("Body") == "ping"
    assert [(m.direction, m.body) for m in client.messages.list(to=HANDSET)] == [("outbound-reply", "pong")]

    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    assert "pong" not in before(chat)  # shown once, although it was polled many times
    chat.close()
    assert chat.exitstatus == 0


def test_a_message_sent_to_the_handset_appears_without_typing(client: Client, sender: str,
                                                              terminal: Terminal) -> None:
    chat = terminal.spawn("handset", "+15550001112", "--to", sender)
    chat.expect("to leave")
    client.messages.create(to="+15550001112", from_=sender, body="your code is 4417")
    chat.expect_exact(sender)  # who sent it, then what
    chat.expect("your code is 4417")
    chat.sendeof()  # Ctrl-D leaves as well
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0


def test_history_shows_what_the_handset_received_before(client: Client, sender: str, terminal: Terminal) -> None:
    created = client.messages.create(to="+15550001113", from_=sender, body="earlier news")
    eventually(lambda: settled(client, created.sid))
    chat = terminal.spawn("handset", "+15550001113", "--to", sender)
    chat.expect("received earlier")
    chat.expect("earlier news")
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    assert "earlier news" not in before(chat)  # not shown again as new


def test_a_to_number_the_account_does_not_own_is_refused_at_once_in_one_line(cli: Cli, loft: LoftServer,
                                                                             account: tuple[str, str]) -> None:
    result = cli("handset", "+15550001116", "--to", "+15005550006")  # a number, but not one of the account's
    assert result.exit_code == 1
    assert result.output.strip() == (f"+15005550006 is not a number of account {account[0]}. "
                                     "`loft numbers list` shows the account's numbers.")
    inbox = httpx.get(f"{loft.base_url}/sim/v1/Handsets/+15550001116/Messages", auth=account).json()
    assert inbox == {"messages": []}


def test_to_takes_the_digits_a_number_of_the_account_ends_with(client: Client, sender: str,
                                                                terminal: Terminal) -> None:
    chat = terminal.spawn("handset", "+15550001117", "--to", sender[-4:])
    chat.expect("texting")
    chat.expect_exact(sender)  # the number it ends with, in full
    chat.sendline("hello")
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    assert eventually(lambda: [m.to for m in client.messages.list(from_="+15550001117")]) == [sender]


def test_switching_to_a_number_the_account_does_not_own_is_refused_and_the_chat_goes_on(
        client: Client, sender: str, terminal: Terminal) -> None:
    chat = terminal.spawn("handset", "+15550001114", "--to", sender)
    chat.expect("texting")
    chat.sendline("/to +15005550006")
    chat.expect_exact("+15005550006 is not a number of account")
    chat.expect_exact(f"Still texting {sender}")
    chat.sendline("now?")
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0
    assert eventually(lambda: [m.body for m in client.messages.list(from_="+15550001114")]) == ["now?"]


def test_a_refused_text_shows_twilios_error_and_the_chat_goes_on(client: Client, sender: str,
                                                                 terminal: Terminal) -> None:
    other = client.incoming_phone_numbers.create(area_code="415")
    chat = terminal.spawn("handset", "+15550001118", "--to", other.phone_number)
    chat.expect("texting")
    client.incoming_phone_numbers(other.sid).delete()  # released while the chat is open
    chat.sendline("anyone there?")
    chat.expect("Not sent: Error 20404")
    chat.sendline(f"/to {sender}")
    chat.expect("Now texting")
    chat.sendline("now?")
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0
    assert eventually(lambda: [m.body for m in client.messages.list(from_="+15550001118")]) == ["now?"]


def test_wrong_credentials_stop_with_a_clean_error(cli: Cli, sender: str) -> None:
    cli.connection[-1] = "0" * 32
    result = cli("handset", "+15550001115", "--to", sender)
    assert result.exit_code == 1
    assert "Error 20003" in result.output and "Traceback" not in result.output
