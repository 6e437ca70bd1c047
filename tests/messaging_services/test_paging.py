"""The v1 list envelope, ``{<key>: [...], "meta": {...}}``: ``PageSize``, absolute page links that twilio-python
follows as they are (``list(limit=…)``, ``stream()``), tokens, and the filters kept in every link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


@pytest.fixture
def five(client: Client) -> list[str]:
    """Five services of the test's account, in the order they were made."""
    return [client.messaging.v1.services.create(friendly_name=f"service {n}").sid for n in range(5)]


def test_the_sdk_reads_every_page(client: Client, five: list[str]) -> None:
    assert [each.sid for each in client.messaging.v1.services.list(page_size=2)] == five
    assert [each.sid for each in client.messaging.v1.services.stream(page_size=2)] == five


def test_the_sdk_stops_at_its_limit(client: Client, five: list[str]) -> None:
    assert [each.sid for each in client.messaging.v1.services.list(limit=3)] == five[:3]
    assert [each.sid for each in client.messaging.v1.services.stream(limit=4, page_size=3)] == five[:4]


def test_the_envelope_links_pages_with_absolute_urls(loft: LoftServer, account: tuple[str, str],
                                                     five: list[str]) -> None:
    with httpx.Client(auth=account, timeout=30) as http:
        first = clients.checked(http.get(f"{loft.base_url}/v1/Services", params={"PageSize": "2"})).json()
        assert set(first) == {"services", "meta"}
        meta = first["meta"]
        assert [each["sid"] for each in first["services"]] == five[:2]
        assert (meta["page"], meta["page_size"], meta["key"], meta["previous_page_url"]) == (0, 2, "services", None)
        assert meta["first_page_url"] == f"{loft.base_url}/v1/Services?PageSize=2&Page=0"
        assert meta["url"] == meta["first_page_url"]
        assert parse_qs(urlsplit(meta["next_page_url"]).query) == {"PageSize": ["2"], "Page": ["1"],
                                                                   "PageToken": [f"PA{five[1]}"]}
        second = clients.checked(http.get(meta["next_page_url"])).json()
        assert [each["sid"] for each in second["services"]] == five[2:4]
        assert second["meta"]["page"] == 1 and second["meta"]["url"] == meta["next_page_url"]
        back = clients.checked(http.get(second["meta"]["previous_page_url"])).json()
        assert [each["sid"] for each in back["services"]] == five[:2]
        last = clients.checked(http.get(second["meta"]["next_page_url"])).json()
        assert [each["sid"] for each in last["services"]] == five[4:]
        assert last["meta"]["next_page_url"] is None


def test_a_page_by_number_alone(loft: LoftServer, account: tuple[str, str], five: list[str]) -> None:
    with httpx.Client(auth=account, timeout=30) as http:
        page = clients.checked(http.get(f"{loft.base_url}/v1/Services", params={"PageSize": "2", "Page": "2"}))
    assert [each["sid"] for each in page.json()["services"]] == five[4:]


@pytest.mark.parametrize("query", [
    pytest.param({"PageSize": "0"}, id="page-size-zero"),
    pytest.param({"PageSize": "many"}, id="page-size-not-a-number"),
    pytest.param({"Page": "-1"}, id="negative-page"),
    pytest.param({"PageToken": "nonsense"}, id="foreign-token"),
])
def test_bad_paging_is_refused(loft: LoftServer, account: tuple[str, str], query: dict[str, str]) -> None:
    answer = clients.checked(httpx.get(f"{loft.base_url}/v1/Services", params=query, auth=account, timeout=30))
    assert (answer.status_code, answer.json()["code"]) == (400, 20001)


def test_a_pool_pages_and_its_filter_stays_in_every_link(loft: LoftServer, account: tuple[str, str],
                                                         client: Client, buy: Callable[..., Any]) -> None:
    service = client.messaging.v1.services.create(friendly_name="paged pool")
    numbers = [buy().sid for _ in range(3)]
    for sid in numbers:
        client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=sid)
    assert [each.sid for each in client.messaging.v1.services(service.sid).phone_numbers.list(page_size=2)] == numbers
    destination = client.messaging.v1.services(service.sid).destination_alpha_senders
    french = [destination.create(alpha_sender=f"Loft{n}", iso_country_code=code).sid
              for n, code in enumerate(("FR", "DE", "FR", "FR"))]
    assert [each.sid for each in destination.list(iso_country_code="FR", page_size=2)] == [french[0], *french[2:]]
    with httpx.Client(auth=account, timeout=30) as http:
        page = clients.checked(http.get(f"{loft.base_url}/v1/Services/{service.sid}/DestinationAlphaSenders",
                                        params={"IsoCountryCode": "FR", "PageSize": "2"})).json()
    assert page["meta"]["key"] == "alpha_senders"
    for link in ("first_page_url", "url", "next_page_url"):
        assert parse_qs(urlsplit(page["meta"][link]).query)["IsoCountryCode"] == ["FR"]
