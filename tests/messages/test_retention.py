"""``ContentRetention=discard`` and ``AddressRetention=obfuscate``: the message keeps its body and its recipient's
address while it is on its way, and loses them (body ``""``, the address's last four digits ``X``) once final;
the handset got the whole message, the status callbacks name the real recipient (see
:mod:`loft.messages.retention`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from twilio.rest import Client

from loft.delivery import lifecycle
from loft.messages.retention import obfuscated
from tests.support.receiver import Answer, Receiver
from tests.support.sim import Sim
from tests.support.waiting import eventually


def _final(client: Client, sid: str, status: str = "delivered") -> Any:
    found = eventually(lambda: (lambda m: m if m.status == status else None)(client.messages(sid).fetch()))
    return found


def test_a_discarded_and_obfuscated_message_keeps_nothing_once_delivered(
        client: Client, sender: str, sim: Sim, receiver: Receiver) -> None:
    to = "+15558670101"
    created = client.messages.create(from_=sender, to=to, body="Your code is 4321", content_retention="discard",
                                     address_retention="obfuscate", status_callback=receiver.url("/status"))
    assert (created.body, created.to) == ("Your code is 4321", to)  # the create answers what it was given
    done = _final(client, created.sid)
    assert (done.body, done.to, done.from_) == ("", "+1555867XXXX", sender)
    assert [m["body"] for m in sim.inbox(to) if m["sid"] == created.sid] == ["Your code is 4321"]
    calls = receiver.wait_for(lambda got: any(call.param("MessageStatus") == "delivered" for call in got))
    assert {call.param("To") for call in calls} == {to}
    assert client.messages.list(to=to) == []  # the recipient's number no longer finds it


def test_the_body_is_kept_while_the_message_is_on_its_way(client: Client, sender: str, sim: Sim) -> None:
    to = "+15558670102"
    sim.configure(to, ReceiptDelayMs=1500)
    created = client.messages.create(from_=sender, to=to, body="Still here", content_retention="discard")
    on_its_way = _final(client, created.sid, "sent")
    assert (on_its_way.status, on_its_way.body) == ("sent", "Still here")  # one read: sent, with its body
    assert _final(client, created.sid).body == ""


def test_an_undelivered_mms_fetched_by_a_worker_is_discarded_too(
        client: Client, sender: str, sim: Sim, receiver: Receiver) -> None:
    """A send with media leaves through a worker's job (its media are fetched first), not its create."""
    to = "+15558670103"
    sim.configure(to, Behavior="unreachable")
    receiver.answer("/cat.png", Answer(raw=b"\x89PNG\r\n\x1a\n", content_type="image/png"))
    created = client.messages.create(from_=sender, to=to, body="A picture", media_url=[receiver.url("/cat.png")],
                                     content_retention="discard", address_retention="obfuscate")
    done = _final(client, created.sid, "undelivered")
    assert (done.body, done.to, done.error_code) == ("", "+1555867XXXX", 30003)
    assert done.num_media == "1"  # media stay until deleted, as with a redaction


def test_retain_keeps_everything(client: Client, sender: str) -> None:
    created = client.messages.create(from_=sender, to="+15558670104", body="Keep me", content_retention="retain",
                                     address_retention="retain")
    done = _final(client, created.sid)
    assert (done.body, done.to) == ("Keep me", "+15558670104")


@pytest.mark.parametrize(("address", "hidden"), [
    pytest.param("+14155550123", "+1415555XXXX", id="north-american"),
    pytest.param("+447700900123", "+44770090XXXX", id="british"),
    pytest.param("+123", "+XXX", id="shorter-than-four-digits"),
])
def test_obfuscation_hides_the_last_four_digits(address: str, hidden: str) -> None:
    assert obfuscated(address) == hidden
    assert obfuscated(hidden) == hidden  # a message that moves on once final (delivered, then read) loses no more


def test_only_a_final_status_erases() -> None:
    def erased(options: dict[str, str], status: str, to_addr: str) -> dict[str, Any]:
        return lifecycle.erased(SimpleNamespace(options=options, to_addr=to_addr), status)

    asked = {"content_retention": "discard", "address_retention": "obfuscate"}
    assert erased(asked, "sent", "+14155550123") == {}
    assert erased(asked, "failed", "+14155550123") == {"body": "", "to_addr": "+1415555XXXX"}
    assert erased({"content_retention": "discard"}, "read", "+14155550123") == {"body": ""}
    assert erased({}, "delivered", "+14155550123") == {}
