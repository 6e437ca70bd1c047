"""A send through a Messaging Service to a destination routed to a network carrier (the Twilio relay): its sender
is chosen from the pool in the send's first transaction, as for the simulator, and it leaves through the carrier
from that sender (see tests/messaging_services/ for the choice itself); an opt-out the upstream reports for a pool
number holds for the whole service, as a STOP texted to it does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.support import relay
from tests.support.receiver import Receiver
from tests.support.relay import Line
from tests.support.server import LoftServer
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


def test_an_upstream_opt_out_of_a_pool_number_opts_out_of_the_whole_service(
        upstream: LoftServer, front: LoftServer, stack: Callable[[Line], Line]) -> None:
    # The upstream number has no SmsUrl: the STOP stays upstream, and the front learns of it only from the relay.
    line = stack(relay.open_line(upstream, front, sms_url=False))
    service = line.tenant.messaging.v1.services.create(friendly_name="relayed opt-out")
    pool = line.tenant.messaging.v1.services(service.sid).phone_numbers
    pool.create(phone_number_sid=line.tenant.incoming_phone_numbers.list(phone_number=line.number)[0].sid)
    other = line.tenant.incoming_phone_numbers.create(area_code="415")
    pool.create(phone_number_sid=other.sid)
    to = relay.destination()
    line.upstream_sim.text(to, line.number, "STOP")

    sent = line.tenant.messages.create(to=to, messaging_service_sid=service.sid, body="still there?")
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "failed")
    assert line.tenant.messages(sent.sid).fetch().error_code == 21610
    # Recorded for the service: the pool's other number may not send to that phone either.
    with pytest.raises(TwilioRestException) as refused:
        line.tenant.messages.create(to=to, from_=other.phone_number, body="from another number?")
    assert refused.value.code == 21610
