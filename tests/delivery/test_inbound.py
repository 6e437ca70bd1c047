"""Inbound: a handset texts a Loft number; Loft calls the configured URL, signed, and follows its TwiML."""

from __future__ import annotations

from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import Message, MessagingResponse

from tests.support.receiver import Answer, Receiver
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually


def _twiml(response: MessagingResponse) -> Answer:
    return Answer(body=str(response), content_type="text/xml")


def test_application_url_receives_the_inbound_message_and_its_reply_reaches_the_handset(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    reply = MessagingResponse()
    reply.message("Thanks for your message!")
    receiver.answer("/bot", _twiml(reply))
    app = client.applications.create(friendly_name="bot", sms_url=receiver.url("/bot"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_application_sid=app.sid, sms_url=receiver.url("/number"))

    inbound = sim.text("+15558671001", sender, "hello")
    assert inbound["direction"] == "inbound" and inbound["status"] == "received"

    calls = receiver.wait_for(lambda rs: len(rs) >= 1)
    assert [c.path for c in calls] == ["/bot"]  # the Application wins over the number's own SmsUrl
    call = calls[0]
    assert RequestValidator(account[1]).validate(receiver.url("/bot"), call.params, call.headers["x-twilio-signature"])
    params = call.params
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == inbound["sid"]
    assert params["From"] == "+15558671001" and params["To"] == sender and params["Body"] == "hello"
    assert params["AccountSid"] == account[0] and params["ApiVersion"] == "2010-04-01"
    assert params["NumMedia"] == "0" and params["NumSegments"] == "1" and params["SmsStatus"] == "received"
    assert params["ToCountry"] == "US" and "FromCountry" in params

    handset_inbox = eventually(lambda: sim.inbox("+15558671001"))
    assert handset_inbox[0]["body"] == "Thanks for your message!" and handset_inbox[0]["from"] == sender
    replies = client.messages.list(to="+15558671001")
    assert [(m.direction, m.body) for m in replies] == [("outbound-reply", "Thanks for your message!")]
    eventually(lambda: status_of(client, replies[0].sid) == "delivered")


def test_number_sms_url_with_get_method_gets_query_parameters(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/get?tenant=7"), sms_method="GET")
    sim.text("+15558671002", sender, "via get")
    call = receiver.wait_for(lambda rs: len(rs) >= 1)[0]
    assert call.method == "GET" and call.param("Body") == "via get" and call.param("tenant") == "7"
    assert call.target.startswith("/get?tenant=7&")
    validator = RequestValidator(account[1])
    assert validator.validate(receiver.base_url + call.target, {}, call.headers["x-twilio-signature"])


def test_credentials_in_the_url_are_sent_after_a_401_challenge(
    client: Client, sender: str, sim: Sim, receiver: Receiver
) -> None:
    receiver.answer("/secure", Answer(body="<Response/>", basic_auth=("bot", "s3cret")))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    url = receiver.url("/secure").replace("http://", "http://bot:s3cret@")
    client.incoming_phone_numbers(number.sid).update(sms_url=url)
    sim.text("+15558671003", sender, "knock knock")
    calls = receiver.wait_for(lambda rs: len(rs) >= 2)
    assert "authorization" not in calls[0].headers
    assert calls[1].headers["authorization"].startswith("Basic ")


def test_a_failing_primary_url_falls_back_with_the_error(
    client: Client, sender: str, sim: Sim, receiver: Receiver
) -> None:
    receiver.answer("/primary", Answer(status=500, body="boom"))
    fallback = MessagingResponse()
    fallback.message("from the fallback")
    receiver.answer("/fallback", _twiml(fallback))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/primary"),
                                                     sms_fallback_url=receiver.url("/fallback"))
    sim.text("+15558671004", sender, "hello?")
    calls = receiver.wait_for(lambda rs: any(r.path == "/fallback" for r in rs))
    fallback_call = [c for c in calls if c.path == "/fallback"][0]
    assert fallback_call.param("ErrorCode") == "11200"
    assert fallback_call.param("ErrorUrl") == receiver.url("/primary")
    inbox = eventually(lambda: sim.inbox("+15558671004"))
    assert inbox[0]["body"] == "from the fallback"


def test_invalid_twiml_falls_back_and_is_recorded(
    client: Client, account: tuple[str, str], sender: str, sim: Sim, receiver: Receiver
) -> None:
    receiver.answer("/broken", Answer(body="<Response><Message>unclosed", content_type="text/xml"))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/broken"),
                                                     sms_fallback_url=receiver.url("/fb"))
    inbound = sim.text("+15558671005", sender, "hi")
    calls = receiver.wait_for(lambda rs: any(r.path == "/fb" for r in rs))
    assert [c for c in calls if c.path == "/fb"][0].param("ErrorCode") == "12100"
    recorded = eventually(lambda: [w for w in sim.webhooks(account[0], inbound["sid"]) if w["error_code"] == 12100])
    assert recorded


def test_several_messages_and_a_redirect_are_followed(
    client: Client, sender: str, sim: Sim, receiver: Receiver
) -> None:
    first = MessagingResponse()
    first.message("one")
    first.redirect(receiver.url("/next"), method="POST")
    first.message("never sent: after the redirect")
    second = MessagingResponse()
    second.message("two")
    media_reply = Message()
    media_reply.body("three")
    second.append(media_reply)
    receiver.answer("/start", _twiml(first))
    receiver.answer("/next", _twiml(second))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/start"))
    sim.text("+15558671006", sender, "go")
    inbox = eventually(lambda: (i := sim.inbox("+15558671006")) and len(i) >= 3 and i)
    assert sorted(m["body"] for m in inbox) == ["one", "three", "two"]
    next_call = receiver.wait_for(lambda rs: any(r.path == "/next" for r in rs))
    assert [c for c in next_call if c.path == "/next"][0].param("Body") == "go"


def test_message_to_attribute_and_action_callback(
    client: Client, sender: str, sim: Sim, receiver: Receiver
) -> None:
    response = MessagingResponse()
    response.message("forwarded", to="+15558671099", action=receiver.url("/reply-status"))
    receiver.answer("/fwd", _twiml(response))
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/fwd"))
    sim.text("+15558671007", sender, "forward me")
    eventually(lambda: sim.inbox("+15558671099"))
    calls = receiver.wait_for(lambda rs: any(r.param("MessageStatus") == "delivered" for r in rs))
    assert any(c.path == "/reply-status" for c in calls)
    assert sim.inbox("+15558671007") == []


def test_stop_is_confirmed_passed_on_with_opt_out_type_and_blocks_sends(
    client: Client, sender: str, sim: Sim, receiver: Receiver
) -> None:
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url=receiver.url("/in"))
    sim.text("+15558671008", sender, "  Stop ")
    call = receiver.wait_for(lambda rs: len(rs) >= 1)[0]
    assert call.param("OptOutType") == "STOP"
    inbox = eventually(lambda: sim.inbox("+15558671008"))
    assert "unsubscribed" in inbox[0]["body"]
    sim.text("+15558671008", sender, "stop please")  # not a keyword: a message like any other
    calls = receiver.wait_for(lambda rs: len(rs) >= 2)
    assert calls[1].param("OptOutType") is None
