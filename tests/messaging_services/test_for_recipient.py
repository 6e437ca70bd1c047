"""What the delivery side reads of a service: its settings (``service.find``, for its own account only) and its pool
by kind for one recipient (``pool.for_recipient``), from a pool built through the API of a running Loft and read
from that Loft's database, as a worker reads it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from twilio.rest import Client

from loft.config import Settings
from loft.db.engine import open_database
from loft.messaging_services import pool, service
from tests.support.server import LoftServer


def _read(loft: LoftServer, work: Callable[[Any], Any]) -> Any:
    """``work(conn)`` in a read transaction on the server's database."""
    url = Settings(data_dir=loft.data_dir, database_url=loft.database_url).resolved_database_url

    async def main() -> Any:
        db = open_database(url)
        try:
            async with db.read() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(main())


def test_the_pool_by_kind_for_a_recipient(loft: LoftServer, client: Client, other_client: Client,
                                          buy: Callable[..., Any]) -> None:
    made = client.messaging.v1.services.create(friendly_name="delivery", validity_period=600, area_code_geomatch=False,
                                               status_callback="https://example.com/status")
    numbers = [buy(), buy("+336########"), buy("+1646#######")]
    for number in numbers:
        client.messaging.v1.services(made.sid).phone_numbers.create(phone_number_sid=number.sid)
    alpha = client.messaging.v1.services(made.sid).alpha_senders.create(alpha_sender="Loft")
    destination = client.messaging.v1.services(made.sid).destination_alpha_senders
    anywhere = destination.create(alpha_sender="LoftAll")
    french = destination.create(alpha_sender="LoftFR", iso_country_code="FR")
    destination.create(alpha_sender="LoftDE", iso_country_code="DE")

    async def read(conn: Any) -> tuple[Any, ...]:
        found = await service.find(conn, client.account_sid, made.sid)
        assert found is not None
        return (found, await pool.for_recipient(conn, found, "+33612345678"),
                await pool.for_recipient(conn, found, "+14155550100"),
                await service.find(conn, other_client.account_sid, made.sid),
                await pool.service_of(conn, numbers[0].sid))

    found, to_france, to_us, theirs, holder = _read(loft, read)
    assert (found.sid, found.account_sid, found.friendly_name) == (made.sid, client.account_sid, "delivery")
    assert (found.validity_period, found.area_code_geomatch, found.sticky_sender) == (600, False, True)
    assert found.status_callback == "https://example.com/status" and found.inbound_request_url is None
    assert theirs is None  # another account's service is not found for it
    assert holder == made.sid

    assert to_france.recipient_country == "FR"
    assert [each.address for each in to_france.phone_numbers] == [number.phone_number for number in numbers]
    assert [each.country for each in to_france.phone_numbers] == ["US", "FR", "US"]
    assert to_france.phone_numbers[1].capabilities == ("SMS", "Voice")
    assert [each.sid for each in to_france.destination_alpha_senders] == [french.sid, anywhere.sid]
    assert [each.address for each in to_france.alpha_senders] == ["Loft"] and to_france.alpha_senders[0].sid == alpha.sid
    assert to_france.short_codes == () and to_france.channel_senders == ()

    assert to_us.recipient_country == "US"
    assert [each.sid for each in to_us.destination_alpha_senders] == [anywhere.sid]
    assert len(to_us.phone_numbers) == 3
