"""An RCS sender joins a Messaging Service's pool with ``POST /v1/Services/{MG}/ChannelSenders`` (``Sid=XE…``), as
its channel sender; refused when it is not one of the account's (21421) or is in a pool already (21712); it leaves
the pool when it is deleted."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from twilio.rest import Client

from loft.messaging_services import pool
from loft.messaging_services import service as services
from tests.messaging_services.conftest import refused
from tests.messaging_services.test_for_recipient import _read as read_database
from tests.support.server import LoftServer


def test_an_rcs_sender_joins_a_service(loft: LoftServer, client: Client, service_sid: str,
                                       create_sender: Callable[..., Any]) -> None:
    sender = create_sender()
    pool = client.messaging.v1.services(service_sid).channel_senders
    added = pool.create(sid=sender.sid)
    assert (added.sid, added.sender, added.sender_type) == (sender.sid, sender.sender_id, "RCS")
    assert (added.messaging_service_sid, added.account_sid) == (service_sid, client.account_sid)
    assert added.url == f"{loft.base_url}/v1/Services/{service_sid}/ChannelSenders/{sender.sid}"
    assert [each.sid for each in pool.list()] == [sender.sid]
    assert pool(sender.sid).fetch().sender == sender.sender_id


def test_a_sender_in_a_pool_cannot_join_another(client: Client, service_sid: str,
                                                create_sender: Callable[..., Any]) -> None:
    sender = create_sender()
    client.messaging.v1.services(service_sid).channel_senders.create(sid=sender.sid)
    other_service = client.messaging.v1.services.create(friendly_name="other").sid
    for target in (service_sid, other_service):
        error = refused(partial(client.messaging.v1.services(target).channel_senders.create, sid=sender.sid))
        assert (error.status, error.code) == (400, 21712)


def test_another_account_s_sender_cannot_join(client: Client, other_client: Client,
                                              create_sender: Callable[..., Any]) -> None:
    sender = create_sender()
    theirs = other_client.messaging.v1.services.create(friendly_name="theirs").sid
    error = refused(lambda: other_client.messaging.v1.services(theirs).channel_senders.create(sid=sender.sid))
    assert (error.status, error.code) == (400, 21421)


def test_a_deleted_sender_leaves_the_pool_and_a_removed_one_may_join_again(
        client: Client, service_sid: str, create_sender: Callable[..., Any]) -> None:
    pool = client.messaging.v1.services(service_sid).channel_senders
    kept, deleted = create_sender(), create_sender()
    pool.create(sid=kept.sid)
    pool.create(sid=deleted.sid)
    client.messaging.v2.channels_senders(deleted.sid).delete()
    assert [each.sid for each in pool.list()] == [kept.sid]
    assert pool(kept.sid).delete() is True
    assert pool.create(sid=kept.sid).sid == kept.sid
    assert client.messaging.v2.channels_senders(kept.sid).fetch().sender_id == kept.sender_id


def test_the_delivery_side_finds_the_rcs_sender_in_the_pool(loft: LoftServer, client: Client, service_sid: str,
                                                             create_sender: Callable[..., Any]) -> None:
    """What sending content will read: ``pool.for_recipient`` gives the service's RCS sender with its address."""
    sender = create_sender()
    client.messaging.v1.services(service_sid).channel_senders.create(sid=sender.sid)

    async def read(conn: Any) -> Any:
        found = await services.find(conn, client.account_sid, service_sid)
        assert found is not None
        return await pool.for_recipient(conn, found, "+14155550100"), await pool.service_of(conn, sender.sid)

    found, holder = read_database(loft, read)
    assert [(each.sid, each.address, each.kind) for each in found.channel_senders] == [
        (sender.sid, sender.sender_id, "channel_sender")]
    assert holder == service_sid
