"""A suspended account reads and deletes its templates and senders but makes or changes none (403, 20005), as for
its Messaging Services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.messaging.v2.channels_sender import ChannelsSenderList

from tests.content.conftest import TEXT
from tests.content.conftest import request as content_request
from tests.messaging_services.conftest import refused
from tests.senders.conftest import agent
from tests.senders.conftest import request as sender_request


def test_a_suspended_account_reads_and_deletes_but_makes_and_changes_nothing(
        main_client: Client, client: Client, account: tuple[str, str], service_sid: str,
        create_sender: Callable[..., Any]) -> None:
    template = client.content.v1.contents.create(content_request(TEXT))
    sender, spare = create_sender(), create_sender()
    main_client.api.accounts(account[0]).update(status="suspended")
    calls = (
        lambda: client.content.v1.contents.create(content_request(TEXT)),
        lambda: client.content.v1.contents(template.sid).update(ContentList.ContentUpdateRequest({"language": "fr"})),
        lambda: client.messaging.v2.channels_senders.create(sender_request({"sender_id": agent()})),
        lambda: client.messaging.v2.channels_senders(sender.sid).update(
            ChannelsSenderList.MessagingV2ChannelsSenderRequestsUpdate({"profile": {"name": "x"}})),
        lambda: client.messaging.v1.services(service_sid).channel_senders.create(sid=sender.sid),
    )
    for call in calls:
        answer = refused(call)
        assert (answer.status, answer.code) == (403, 20005)
    assert client.content.v1.contents(template.sid).fetch().language == "en"
    assert client.content.v1.contents(template.sid).delete() is True
    assert client.messaging.v2.channels_senders(spare.sid).delete() is True
    assert [each.sid for each in client.messaging.v2.channels_senders.list(channel="rcs")] == [sender.sid]
