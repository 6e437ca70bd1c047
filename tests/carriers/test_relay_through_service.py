"""A send through a Messaging Service to a destination routed to a network carrier (the Twilio relay): its sender
is chosen from the pool in the send's first transaction, as for the simulator, and it leaves through the carrier
from that sender (see tests/messaging_services/ for the choice itself)."""

from __future__ import annotations

from tests.support import relay
from tests.support.receiver import Receiver
from tests.support.relay import Line
from tests.support.waiting import eventually


def test_a_send_through_a_service_leaves_through_the_carrier_from_the_sender_chosen(line: Line,
                                                                                     receiver: Receiver) -> None:
    service = line.tenant.messaging.v1.services.create(friendly_name="relayed",
                                                       status_callback=receiver.url("/status"))
    number_sid = line.tenant.incoming_phone_numbers.list(phone_number=line.number)[0].sid
    line.tenant.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number_sid)
    to = relay.destination()

    sent = line.tenant.messages.create(to=to, messaging_service_sid=service.sid, body="through a service")

    assert (sent.status, sent.from_) == ("accepted", None)
    inbox = eventually(lambda: line.upstream_sim.inbox(to))
    assert [(m["from"], m["body"]) for m in inbox] == [(line.number, "through a service")]
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered")
    assert line.tenant.messages(sent.sid).fetch().from_ == line.number
    calls = receiver.wait_for(lambda got: len(got) >= 3)
    assert sorted(str(call.param("MessageStatus")) for call in calls) == ["delivered", "queued", "sent"]
    assert {call.param("MessagingServiceSid") for call in calls} == {service.sid}
