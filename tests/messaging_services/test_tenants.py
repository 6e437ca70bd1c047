"""A Messaging Service is its account's alone: v1 paths name no account, and a request acts for its credential's.
Another account's service is not found (20404) whoever asks (a sibling, the parent, a subaccount); a pool holds
only its own account's numbers; a suspended account changes no services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from tests.messaging_services.conftest import refused
from tests.support import clients
from tests.support.server import LoftServer


def _reaches_nothing_of(stranger: Client, service_sid: str, number_sid: str) -> None:
    """Every operation of ``stranger`` on the service ``service_sid`` (whose pool holds ``number_sid``) is 20404."""
    service = stranger.messaging.v1.services(service_sid)
    calls: list[Callable[[], Any]] = [
        service.fetch,
        lambda: service.update(friendly_name="taken over"),
        service.delete,
        lambda: service.phone_numbers.create(phone_number_sid=number_sid),
        lambda: service.phone_numbers(number_sid).fetch(),
        lambda: service.phone_numbers(number_sid).delete(),
        lambda: service.alpha_senders.create(alpha_sender="Thief"),
        lambda: service.destination_alpha_senders.create(alpha_sender="Thief", iso_country_code="FR"),
    ]
    for call in calls:
        answer = refused(call)
        assert (answer.status, answer.code) == (404, 20404), call
    with pytest.raises(TwilioException) as listing:  # twilio-python raises no TwilioRestException for a page
        service.phone_numbers.list()
    assert listing.value.args[1].status_code == 404
    assert service_sid not in [each.sid for each in stranger.messaging.v1.services.list()]


def test_a_sibling_account_reaches_nothing_of_a_service(client: Client, other_client: Client, service_sid: str,
                                                        buy: Callable[..., Any]) -> None:
    number = buy()
    client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number.sid)
    _reaches_nothing_of(other_client, service_sid, number.sid)
    owned = client.messaging.v1.services(service_sid).fetch()
    assert owned.friendly_name == "test service"
    assert [each.sid for each in client.messaging.v1.services(service_sid).phone_numbers.list()] == [number.sid]


def test_the_parent_s_credentials_reach_no_service_of_a_subaccount(main_client: Client, client: Client,
                                                                    service_sid: str, buy: Callable[..., Any]) -> None:
    number = buy()
    client.messaging.v1.services(service_sid).phone_numbers.create(phone_number_sid=number.sid)
    _reaches_nothing_of(main_client, service_sid, number.sid)


def test_a_subaccount_cannot_use_its_parent_s_service(main_client: Client, client: Client,
                                                      buy: Callable[..., Any]) -> None:
    parents = main_client.messaging.v1.services.create(friendly_name="the parent's")
    _reaches_nothing_of(client, parents.sid, buy().sid)
    assert main_client.messaging.v1.services(parents.sid).fetch().friendly_name == "the parent's"


def test_a_pool_takes_no_number_of_another_account(main_client: Client, client: Client,
                                                   buy: Callable[..., Any]) -> None:
    """Not even the parent's service a subaccount's number (21421, as an unknown number)."""
    parents = main_client.messaging.v1.services.create(friendly_name="the parent's")
    answer = refused(lambda: main_client.messaging.v1.services(parents.sid).phone_numbers.create(
        phone_number_sid=buy().sid))
    assert (answer.status, answer.code) == (400, 21421)
    assert main_client.messaging.v1.services(parents.sid).phone_numbers.list() == []


def test_an_api_key_acts_for_its_account_s_services(loft: LoftServer, client: Client, service_sid: str) -> None:
    key = client.new_keys.create(friendly_name="services")
    as_key = clients.sdk(loft.base_url, key.sid, key.secret, client.account_sid)
    assert as_key.messaging.v1.services(service_sid).fetch().sid == service_sid
    made = as_key.messaging.v1.services.create(friendly_name="by a key")
    assert made.account_sid == client.account_sid
    assert [each.sid for each in client.messaging.v1.services.list()] == [service_sid, made.sid]


@pytest.mark.parametrize("auth", [
    pytest.param(None, id="no-credentials"),
    pytest.param(("AC" + "0" * 32, "wrong"), id="wrong-credentials"),
])
def test_without_credentials_nothing_is_answered(loft: LoftServer, service_sid: str,
                                                 auth: tuple[str, str] | None) -> None:
    for method, path in (("GET", "/v1/Services"), ("GET", f"/v1/Services/{service_sid}"),
                         ("POST", "/v1/Services"), ("GET", "/v1/Services/Usecases"),
                         ("GET", f"/v1/Services/{service_sid}/PhoneNumbers")):
        answer = clients.checked(httpx.request(method, f"{loft.base_url}{path}", auth=auth, timeout=30))
        assert (answer.status_code, answer.json()["code"]) == (401, 20003), path


def test_a_suspended_account_reads_and_deletes_its_services_but_changes_none(
        main_client: Client, client: Client, account: tuple[str, str], service_sid: str,
        buy: Callable[..., Any]) -> None:
    number = buy()
    main_client.api.accounts(account[0]).update(status="suspended")
    service = client.messaging.v1.services(service_sid)
    for call in (lambda: client.messaging.v1.services.create(friendly_name="while suspended"),
                 lambda: service.update(friendly_name="while suspended"),
                 lambda: service.phone_numbers.create(phone_number_sid=number.sid),
                 lambda: service.alpha_senders.create(alpha_sender="Suspended")):
        answer = refused(call)
        assert (answer.status, answer.code) == (403, 20005)
    assert service.fetch().friendly_name == "test service"
    assert service.delete() is True
