"""Sending content (``ContentSid`` + ``ContentVariables``) on Messages create, with the official SDK: over RCS from
the service's RCS sender when the handset supports it, else falling back to the template's SMS/MMS translation
from the pool (or ``FallbackFrom``); RCS-only recipients, sends from an RCS sender, read receipts, the channel's
media limits, and every error Twilio answers, on SQLite and PostgreSQL.

Handsets are the simulator's (``Rcs=true`` or not); status callbacks reach a real receiver on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from sqlalchemy import update
from twilio.rest import Client

from loft.config import Settings
from loft.db.engine import open_database
from loft.db.tables import channel_senders
from tests.content.conftest import request as template_request
from tests.messaging_services.conftest import buy, other_client, refused, service_sid  # noqa: F401 - fixtures
from tests.senders.conftest import create_sender  # noqa: F401 - a fixture
from tests.support import openapi
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

CARD: dict[str, Any] = {
    "twilio/card": {"title": "Order {{1}} shipped", "subtitle": "Hi {{name}}",
                    "media": ["https://example.com/{{1}}.png"],
                    "actions": [{"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks_{{1}}"},
                                {"type": "URL", "title": "Track", "url": "https://example.com/t/{{1}}"}]},
    "twilio/text": {"body": "Hi {{name}}, order {{1}} shipped: https://example.com/t/{{1}}"},
}
CARD_ONLY: dict[str, Any] = {"twilio/card": CARD["twilio/card"]}
VARIABLES = json.dumps({"1": "A7", "name": "Ada"})
SHOWN = {"type": "twilio/card", "title": "Order A7 shipped", "subtitle": "Hi Ada",
         "media": ["https://example.com/A7.png"],
         "actions": [{"type": "QUICK_REPLY", "title": "Thanks", "id": "thanks_A7"},
                     {"type": "URL", "title": "Track", "url": "https://example.com/t/A7"}]}
TEXT_BODY = "Hi Ada, order A7 shipped: https://example.com/t/A7"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@dataclass
class Rig:
    """A Messaging Service with a phone number and an online RCS sender in its pool, its status callbacks on the
    receiver."""

    client: Client
    sim: Sim
    receiver: Receiver
    service_sid: str
    number: str
    agent: str

    def template(self, types: dict[str, Any], **given: Any) -> str:
        sid: str = self.client.content.v1.contents.create(template_request(types, **given)).sid
        return sid

    def send(self, to: str, content_sid: str, **given: Any) -> Any:
        return self.client.messages.create(to=to, messaging_service_sid=self.service_sid, content_sid=content_sid,
                                           **given)

    def callbacks(self, sid: str, count: int) -> list[dict[str, str]]:
        got = self.receiver.wait_for(lambda calls: len([c for c in calls if c.param("MessageSid") == sid]) >= count)
        return [call.params for call in got if call.param("MessageSid") == sid]


@pytest.fixture
def rig(client: Client, service_sid: str, buy: Callable[..., Any],  # noqa: F811 - fixtures
        create_sender: Callable[..., Any], sim: Sim, receiver: Receiver) -> Iterator[Rig]:  # noqa: F811
    number = buy()
    services = client.messaging.v1.services(service_sid)
    services.phone_numbers.create(phone_number_sid=number.sid)
    services.update(status_callback=receiver.url("/status"))
    agent = create_sender()
    assert eventually(lambda: client.messaging.v2.channels_senders(agent.sid).fetch().status == "ONLINE", timeout=10)
    services.channel_senders.create(sid=agent.sid)
    yield Rig(client, sim, receiver, service_sid, number.phone_number, agent.sender_id)


def _rcs(sim: Sim, handset: str) -> None:
    assert sim.configure(handset, Rcs="true")["rcs"] is True


def _delivered(client: Client, sid: str) -> Any:
    assert eventually(lambda: status_of(client, sid) in ("delivered", "failed", "undelivered"))
    return client.messages(sid).fetch()


# RCS first, then the fallback ------------------------------------------------------------------------------------


def test_an_rcs_handset_gets_the_card_from_the_rcs_sender_and_callbacks_say_rcs(rig: Rig) -> None:
    _rcs(rig.sim, "+15558677001")
    created = rig.send("+15558677001", rig.template(CARD, variables={"name": "there"}), content_variables=VARIABLES)
    assert (created.status, created.from_, created.body) == ("accepted", None, TEXT_BODY)

    message = _delivered(rig.client, created.sid)
    assert (message.status, message.from_, message.to) == ("delivered", rig.agent, "+15558677001")
    [shown] = rig.sim.inbox("+15558677001")
    assert (shown["sid"], shown["from"], shown["channel"], shown["content"]) == (created.sid, rig.agent, "rcs", SHOWN)

    callbacks = rig.callbacks(created.sid, 3)
    assert [c["MessageStatus"] for c in callbacks] == ["queued", "sent", "delivered"]
    assert all((c["ChannelPrefix"], c["From"], c["MessagingServiceSid"]) == ("rcs", rig.agent, rig.service_sid)
               for c in callbacks)


def test_an_sms_only_handset_gets_the_text_translation_from_the_pool_s_number(rig: Rig) -> None:
    created = rig.send("+15558677002", rig.template(CARD), content_variables=VARIABLES)
    message = _delivered(rig.client, created.sid)
    assert (message.status, message.from_, message.body) == ("delivered", rig.number, TEXT_BODY)
    [shown] = rig.sim.inbox("+15558677002")
    assert (shown["channel"], shown["content"], shown["body"]) == ("sms", None, TEXT_BODY)
    callbacks = rig.callbacks(created.sid, 3)
    assert [c["From"] for c in callbacks] == [rig.number] * 3
    assert all("ChannelPrefix" not in c for c in callbacks)


def test_a_template_with_media_falls_back_to_mms_with_its_media(rig: Rig) -> None:
    rig.receiver.answer("/parcel.png", Answer(raw=PNG, content_type="image/png"))
    media = {"twilio/media": {"body": "Your parcel, {{1}}", "media": [rig.receiver.url("/{{1}}.png")]}}
    created = rig.send("+15558677003", rig.template({**CARD, **media}), content_variables=json.dumps({"1": "parcel",
                                                                                                     "name": "Ada"}))
    assert created.sid.startswith("MM") and created.num_media == "1"
    message = _delivered(rig.client, created.sid)
    assert (message.status, message.from_, message.body) == ("delivered", rig.number, "Your parcel, parcel")
    [shown] = rig.sim.inbox("+15558677003")
    assert shown["channel"] == "mms" and len(shown["media_urls"]) == 1


def test_a_card_only_template_fails_19023_on_sms_and_is_shown_over_rcs(rig: Rig) -> None:
    template = rig.template(CARD_ONLY)
    failed = _delivered(rig.client, rig.send("+15558677004", template, content_variables=VARIABLES).sid)
    assert (failed.status, failed.error_code) == ("failed", 19023)
    assert rig.sim.inbox("+15558677004") == []

    _rcs(rig.sim, "+15558677005")
    created = rig.send("+15558677005", template, content_variables=VARIABLES)
    assert created.body == "Order A7 shipped"  # no text translation: the card's title
    assert _delivered(rig.client, created.sid).status == "delivered"
    assert rig.sim.inbox("+15558677005")[0]["content"] == SHOWN


def test_fallback_from_names_the_sms_sender(rig: Rig, buy: Callable[..., Any]) -> None:  # noqa: F811
    other = buy()
    rig.client.messaging.v1.services(rig.service_sid).phone_numbers.create(phone_number_sid=other.sid)
    created = rig.send("+15558677006", rig.template(CARD), content_variables=VARIABLES,
                       fallback_from=other.phone_number)
    assert _delivered(rig.client, created.sid).from_ == other.phone_number
    _rcs(rig.sim, "+15558677007")
    over_rcs = rig.send("+15558677007", rig.template(CARD), content_variables=VARIABLES,
                        fallback_from=other.phone_number)
    assert _delivered(rig.client, over_rcs.sid).from_ == rig.agent


def test_a_plain_body_through_a_service_with_an_rcs_sender_goes_over_rcs_as_text(rig: Rig) -> None:
    _rcs(rig.sim, "+15558677008")
    created = rig.client.messages.create(to="+15558677008", messaging_service_sid=rig.service_sid, body="plain")
    assert _delivered(rig.client, created.sid).from_ == rig.agent
    [shown] = rig.sim.inbox("+15558677008")
    assert (shown["channel"], shown["body"], shown["content"]) == ("rcs", "plain", None)


def _launching(loft: LoftServer, sender_id: str, status: str) -> None:
    """Set the RCS sender's status in the server's database: ``CREATING`` as while its launch is under way (the
    launch takes a second: too short to send in reliably), ``ONLINE`` as once it is over."""
    settings = Settings(data_dir=loft.data_dir, database_url=loft.database_url)

    async def main() -> None:
        db = open_database(settings.resolved_database_url)
        try:
            async with db.write() as conn:
                await conn.execute(update(channel_senders).where(channel_senders.c.sender_id == sender_id)
                                   .values(status=status))
        finally:
            await db.dispose()

    asyncio.run(main())


def test_an_rcs_sender_still_launching_carries_nothing_the_message_falls_back(loft: LoftServer, rig: Rig) -> None:
    _rcs(rig.sim, "+15558677019")
    _launching(loft, rig.agent, "CREATING")
    fallen = _delivered(rig.client, rig.send("+15558677019", rig.template(CARD), content_variables=VARIABLES).sid)
    assert (fallen.status, fallen.from_, fallen.body) == ("delivered", rig.number, TEXT_BODY)
    _launching(loft, rig.agent, "ONLINE")
    over_rcs = _delivered(rig.client, rig.send("+15558677019", rig.template(CARD), content_variables=VARIABLES).sid)
    assert over_rcs.from_ == rig.agent


def test_an_rcs_only_recipient_never_falls_back(rig: Rig) -> None:
    template = rig.template(CARD)
    failed = _delivered(rig.client, rig.send("rcs:+15558677009", template, content_variables=VARIABLES).sid)
    assert (failed.status, failed.error_code, failed.to) == ("failed", 63106, "rcs:+15558677009")
    _rcs(rig.sim, "+15558677010")
    sent = _delivered(rig.client, rig.send("rcs:+15558677010", template, content_variables=VARIABLES).sid)
    assert (sent.status, sent.from_) == ("delivered", rig.agent)
    assert rig.sim.inbox("+15558677010")[0]["content"] == SHOWN


def test_a_send_from_the_rcs_sender_itself_is_rcs_only(rig: Rig) -> None:
    template = rig.template(CARD)
    _rcs(rig.sim, "+15558677011")
    created = rig.client.messages.create(to="+15558677011", from_=rig.agent, content_sid=template,
                                         content_variables=VARIABLES)
    assert (created.status, created.from_) == ("queued", rig.agent)
    assert _delivered(rig.client, created.sid).status == "delivered"
    assert rig.sim.inbox("+15558677011")[0]["content"] == SHOWN
    failed = _delivered(rig.client, rig.client.messages.create(to="+15558677012", from_=rig.agent,
                                                               body="no rcs here").sid)
    assert (failed.status, failed.error_code) == ("failed", 63106)


def test_a_send_from_a_number_with_content_sends_its_text_translation(
        client: Client, sender: str, sim: Sim) -> None:
    template = client.content.v1.contents.create(template_request(CARD, variables={"name": "there"})).sid
    created = client.messages.create(to="+15558677013", from_=sender, content_sid=template,
                                     content_variables=json.dumps({"1": "B2"}))
    assert created.body == "Hi there, order B2 shipped: https://example.com/t/B2"
    assert _delivered(client, created.sid).status == "delivered"
    assert sim.inbox("+15558677013")[0]["channel"] == "sms"


# Read receipts and media limits ----------------------------------------------------------------------------------


def test_a_handset_reads_an_rcs_message_and_the_callback_says_read(rig: Rig) -> None:
    _rcs(rig.sim, "+15558677014")
    created = rig.send("+15558677014", rig.template(CARD), content_variables=VARIABLES)
    assert _delivered(rig.client, created.sid).status == "delivered"
    path = f"/sim/v1/Handsets/+15558677014/Messages/{created.sid}/Read"
    answer = rig.sim.http.post(path)
    openapi.check_own("/sim/v1/Handsets/{PhoneNumber}/Messages/{MessageSid}/Read", "POST", 200, answer.json())
    assert (answer.status_code, answer.json()["status"]) == (200, "read")
    assert rig.client.messages(created.sid).fetch().status == "read"
    [read] = [c for c in rig.callbacks(created.sid, 4) if c["MessageStatus"] == "read"]
    assert (read["MessageStatus"], read["EventType"], read["ChannelPrefix"]) == ("read", "READ", "rcs")
    once = rig.sim.http.post(path).json()  # again: nothing changes, nothing more is announced
    assert (once["status"], once["date_updated"]) == ("read", answer.json()["date_updated"])


def test_only_delivered_rcs_messages_are_read(rig: Rig) -> None:
    sms = rig.send("+15558677015", rig.template(CARD), content_variables=VARIABLES)
    assert _delivered(rig.client, sms.sid).status == "delivered"
    answer = rig.sim.http.post(f"/sim/v1/Handsets/+15558677015/Messages/{sms.sid}/Read")
    openapi.check_own("/sim/v1/Handsets/{PhoneNumber}/Messages/{MessageSid}/Read", "POST", 400, answer.json())
    assert (answer.status_code, answer.json()["code"]) == (400, 20001) and "SMS" in answer.json()["message"]
    elsewhere = rig.sim.http.post(f"/sim/v1/Handsets/+15558677099/Messages/{sms.sid}/Read")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, 20404)

    _rcs(rig.sim, "+15558677016")
    rig.sim.configure("+15558677016", Behavior="no-receipt")
    pending = rig.send("+15558677016", rig.template(CARD), content_variables=VARIABLES)
    assert eventually(lambda: status_of(rig.client, pending.sid) == "sent")
    answer = rig.sim.http.post(f"/sim/v1/Handsets/+15558677016/Messages/{pending.sid}/Read")
    assert (answer.status_code, answer.json()["code"]) == (400, 20001) and "sent" in answer.json()["message"]


def test_rcs_takes_media_larger_than_mms_does(rig: Rig) -> None:
    big = b"\x89PNG\r\n\x1a\n" + bytes(6 * 1024 * 1024)  # 6 MB: over MMS's 5 MB, within RCS's 16 MB
    rig.receiver.answer("/big.png", Answer(raw=big, content_type="image/png"))
    template = rig.template({"twilio/media": {"body": "big", "media": [rig.receiver.url("/big.png")]}})
    _rcs(rig.sim, "+15558677017")
    over_rcs = _delivered(rig.client, rig.send("+15558677017", template).sid)
    assert (over_rcs.status, over_rcs.from_) == ("delivered", rig.agent)
    over_mms = _delivered(rig.client, rig.send("+15558677018", template).sid)
    assert (over_mms.status, over_mms.error_code, over_mms.from_) == ("failed", 11751, rig.number)


# Refused at create -----------------------------------------------------------------------------------------------


def test_variables_without_a_template_are_21654(client: Client, sender: str) -> None:
    error = refused(lambda: client.messages.create(to="+15558677020", from_=sender, body="x",
                                                   content_variables=VARIABLES))
    assert (error.status, error.code) == (400, 21654)


def test_an_unknown_deleted_malformed_or_other_account_s_template_is_21655(
        client: Client, other_client: Client, sender: str) -> None:  # noqa: F811
    mine = client.content.v1.contents.create(template_request(CARD)).sid
    theirs = other_client.content.v1.contents.create(template_request(CARD)).sid
    gone = client.content.v1.contents.create(template_request(CARD)).sid
    client.content.v1.contents(gone).delete()
    for sid in (theirs, gone, "HX" + "0" * 32, "HXnot-a-sid"):
        error = refused(partial(client.messages.create, to="+15558677021", from_=sender, content_sid=sid))
        assert (error.status, error.code) == (400, 21655), sid
    assert client.messages.create(to="+15558677021", from_=sender, content_sid=mine,
                                  content_variables=VARIABLES).status == "queued"


@pytest.mark.parametrize("variables", ['{"1": ', '["A7"]', '{"1": ""}', '{"1": null}', '{"1": "A7"}'])
def test_bad_or_missing_variables_are_21656(client: Client, sender: str, variables: str) -> None:
    template = client.content.v1.contents.create(template_request(CARD)).sid  # {{name}} has no default
    error = refused(lambda: client.messages.create(to="+15558677022", from_=sender, content_sid=template,
                                                   content_variables=variables))
    assert (error.status, error.code) == (400, 21656)
    assert client.messages.list(to="+15558677022") == []


def test_fallback_from_rules_21664_21666_21667_21606(rig: Rig, client: Client, sender: str) -> None:
    template = rig.template(CARD)
    without_rcs = client.messaging.v1.services.create(friendly_name="no rcs sender").sid
    with_from = refused(lambda: client.messages.create(to="+15558677023", from_=sender, content_sid=template,
                                                       content_variables=VARIABLES, fallback_from=sender))
    no_service = refused(lambda: client.messages.create(to="+15558677023", body="x", fallback_from=sender))
    no_rcs = refused(lambda: client.messages.create(to="+15558677023", messaging_service_sid=without_rcs,
                                                    body="x", fallback_from=sender))
    not_ours = refused(lambda: rig.send("+15558677023", template, content_variables=VARIABLES,
                                        fallback_from="+14155550100"))
    assert [(e.status, e.code) for e in (with_from, no_service, no_rcs, not_ours)] == [
        (400, 21664), (400, 21666), (400, 21667), (400, 21606)]
    assert client.messages.list(to="+15558677023") == []


def test_an_rcs_only_recipient_through_a_service_without_rcs_sender_is_21667(
        client: Client, service_sid: str, sender: str) -> None:  # noqa: F811
    error = refused(lambda: client.messages.create(to="rcs:+15558677025", messaging_service_sid=service_sid,
                                                   body="x"))
    assert (error.status, error.code) == (400, 21667)
    direct = refused(lambda: client.messages.create(to="rcs:+15558677025", from_=sender, body="x"))
    assert (direct.status, direct.code) == (400, 21612)


def test_a_card_only_template_from_a_number_is_19023(client: Client, sender: str) -> None:
    template = client.content.v1.contents.create(template_request(CARD_ONLY)).sid
    error = refused(lambda: client.messages.create(to="+15558677026", from_=sender, content_sid=template,
                                                   content_variables=VARIABLES))
    assert (error.status, error.code) == (400, 19023)


def test_an_rcs_sender_that_is_not_the_account_s_is_63007(
        rig: Rig, other_client: Client) -> None:  # noqa: F811
    for agent in (rig.agent, "rcs:nobody_here"):
        error = refused(partial(other_client.messages.create, to="+15558677027", from_=agent, body="x"))
        assert (error.status, error.code) == (400, 63007), agent
