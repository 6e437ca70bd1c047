"""Listing messages: filters, Twilio's paging envelope and keyset pages, account isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer

ENVELOPE = {"messages", "end", "first_page_uri", "next_page_uri", "page", "page_size", "previous_page_uri",
            "start", "uri"}


def _send(client: Client, sender: str, to: str, count: int) -> list[str]:
    return [client.messages.create(to=to, from_=sender, body=f"message {i}").sid for i in range(count)]


def test_list_is_newest_first_and_filters_by_to_and_from(client: Client, sender: str) -> None:
    mine = _send(client, sender, "+15558673001", 3)
    _send(client, sender, "+15558673002", 2)
    listed = client.messages.list(to="+15558673001")
    assert [m.sid for m in listed] == list(reversed(mine))
    assert len(client.messages.list(from_=sender)) == 5
    assert client.messages.list(from_="+15558673999") == []


def test_list_filters_by_date_sent_in_both_of_the_sdks_forms(client: Client, sender: str,
                                                             account: tuple[str, str], loft: LoftServer) -> None:
    sids = _send(client, sender, "+15558673003", 2)
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    assert {m.sid for m in client.messages.list(to="+15558673003", date_sent=today)} == set(sids)
    assert client.messages.list(to="+15558673003", date_sent=tomorrow) == []
    # The SDK writes a date as midnight UTC: "on or before that instant" excludes the rest of the day.
    assert client.messages.list(to="+15558673003", date_sent_before=today) == []
    assert {m.sid for m in client.messages.list(to="+15558673003", date_sent_before=tomorrow)} == set(sids)
    assert {m.sid for m in client.messages.list(to="+15558673003", date_sent_after=today)} == set(sids)
    assert client.messages.list(to="+15558673003", date_sent_after=tomorrow) == []
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert len(client.messages.list(to="+15558673003", date_sent_after=hour_ago)) == 2
    with httpx.Client(base_url=loft.base_url, auth=account) as http:
        for key, value, expected in (("DateSent", today.isoformat(), 2), ("DateSent<", today.isoformat(), 2),
                                     ("DateSent>", tomorrow.isoformat(), 0)):
            response = clients.checked(http.get(f"/2010-04-01/Accounts/{account[0]}/Messages.json",
                                                params={"To": "+15558673003", key: value}))
            assert len(response.json()["messages"]) == expected, key


def test_a_bad_date_filter_is_refused(client: Client) -> None:
    with pytest.raises(TwilioException):
        client.messages.list(date_sent="yesterday-ish")


def test_the_sdk_pages_through_every_record_once(client: Client, sender: str) -> None:
    sids = _send(client, sender, "+15558673004", 5)
    assert [m.sid for m in client.messages.list(to="+15558673004", page_size=2)] == list(reversed(sids))
    assert [m.sid for m in client.messages.list(to="+15558673004", limit=3)] == list(reversed(sids))[:3]


def test_envelope_has_twilios_keys_and_relative_uris_that_keep_filters(
    client: Client, sender: str, account: tuple[str, str], loft: LoftServer
) -> None:
    sids = _send(client, sender, "+15558673005", 3)
    path = f"/2010-04-01/Accounts/{account[0]}/Messages.json"
    with httpx.Client(base_url=loft.base_url, auth=account) as http:
        first = clients.checked(http.get(path, params={"To": "+15558673005", "PageSize": 2})).json()
        assert set(first) == ENVELOPE
        assert (first["page"], first["page_size"], first["start"], first["end"]) == (0, 2, 0, 1)
        assert first["previous_page_uri"] is None
        next_uri = first["next_page_uri"]
        assert next_uri.startswith(path + "?") and "To=%2B15558673005" in next_uri and "PageToken=PA" in next_uri
        second = clients.checked(http.get(next_uri)).json()
        assert [m["sid"] for m in second["messages"]] == [sids[0]]
        assert (second["page"], second["start"], second["end"], second["next_page_uri"]) == (1, 2, 2, None)
        back = clients.checked(http.get(second["previous_page_uri"])).json()
        assert [m["sid"] for m in back["messages"]] == [m["sid"] for m in first["messages"]]
        assert "To=%2B15558673005" in first["first_page_uri"]


@pytest.mark.parametrize(
    ("params", "status", "page_size"),
    [
        pytest.param({"PageSize": "5000"}, 200, 1000, id="capped-at-1000"),
        pytest.param({"PageSize": "0"}, 400, None, id="zero"),
        pytest.param({"PageSize": "many"}, 400, None, id="not-a-number"),
        pytest.param({"Page": "-1"}, 400, None, id="negative-page"),
        pytest.param({"PageToken": "XYZ"}, 400, None, id="foreign-token"),
    ],
)
def test_paging_parameters(account: tuple[str, str], loft: LoftServer, params: dict[str, str], status: int,
                           page_size: int | None) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account) as http:
        response = clients.checked(http.get(f"/2010-04-01/Accounts/{account[0]}/Messages.json", params=params))
    assert response.status_code == status
    if page_size is not None:
        assert response.json()["page_size"] == page_size


def test_an_account_sees_only_its_own_messages(client: Client, sender: str, main_client: Client,
                                               loft: LoftServer) -> None:
    mine = _send(client, sender, "+15558673006", 1)
    other = main_client.api.accounts.create(friendly_name="neighbour")
    neighbour = clients.sdk(loft.base_url, other.sid, other.auth_token)
    assert neighbour.messages.list() == []
    with pytest.raises(TwilioRestException) as missing:
        neighbour.messages(mine[0]).fetch()
    assert missing.value.status == 404 and missing.value.code == 20404


def test_list_in_xml_carries_paging_attributes(client: Client, sender: str, account: tuple[str, str],
                                               loft: LoftServer) -> None:
    _send(client, sender, "+15558673007", 2)
    with httpx.Client(base_url=loft.base_url, auth=account) as http:
        response = http.get(f"/2010-04-01/Accounts/{account[0]}/Messages.xml",
                            params={"To": "+15558673007", "PageSize": 1})
    import xml.etree.ElementTree as ET

    root = ET.fromstring(response.content)
    listing = root.find("Messages")
    assert root.tag == "TwilioResponse" and listing is not None
    assert listing.get("pagesize") == "1" and listing.get("page") == "0"
    assert "PageToken=PA" in (listing.get("nextpageuri") or "")
    assert len(listing.findall("Message")) == 1


def test_fetch_of_an_unknown_message_is_404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as missing:
        client.messages("SM" + "0" * 32).fetch()
    assert missing.value.status == 404 and missing.value.code == 20404


