"""The v1 domains' wire shape, encoded once (loft/kit/v1.py): ISO 8601 dates, capability lists, and the list
envelope whose absolute links keep the list's filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from loft.kit import paging, v1


def test_dates_are_iso_8601_in_utc_to_the_second() -> None:
    assert v1.date(datetime(2015, 7, 30, 20, 12, 31, 999, tzinfo=UTC)) == "2015-07-30T20:12:31Z"
    assert v1.date(datetime(2015, 7, 30, 22, 12, 31, tzinfo=timezone(timedelta(hours=2)))) == "2015-07-30T20:12:31Z"
    assert v1.date(datetime(2015, 7, 30, 20, 12, 31)) == "2015-07-30T20:12:31Z"  # naive: stored as UTC
    assert v1.date(None) is None


def test_capabilities_are_listed_in_twilio_s_order() -> None:
    assert v1.capabilities(voice=True, sms=True, mms=True) == ["MMS", "SMS", "Voice"]
    assert v1.capabilities(sms=True) == ["SMS"]
    assert v1.capabilities() == []


def test_a_page_names_its_records_key_and_links_its_neighbours_absolutely() -> None:
    records = [{"sid": f"AI{n:032x}"} for n in range(1, 3)]
    request = paging.parse({"PageSize": "2", "Page": "1", "PageToken": f"PA{'AI' + '0' * 32}"})
    body = v1.page(key="alpha_senders", records=records, origin="https://loft.example", path="/v1/Services/MG1/X",
                   filters=[("IsoCountryCode", "FR")], request=request, has_next=True).data
    assert body["alpha_senders"] == records
    base = "https://loft.example/v1/Services/MG1/X?IsoCountryCode=FR&PageSize=2"
    assert body["meta"] == {
        "page": 1,
        "page_size": 2,
        "first_page_url": f"{base}&Page=0",
        "previous_page_url": f"{base}&Page=0&PageToken=PB{records[0]['sid']}",
        "url": f"{base}&Page=1&PageToken=PA{'AI' + '0' * 32}",
        "next_page_url": f"{base}&Page=2&PageToken=PA{records[1]['sid']}",
        "key": "alpha_senders",
    }


def test_the_last_page_links_nowhere_further() -> None:
    body = v1.page(key="services", records=[], origin="http://127.0.0.1:8080", path="/v1/Services", filters=[],
                   request=paging.parse({}), has_next=False).data
    assert body["meta"]["next_page_url"] is None and body["meta"]["previous_page_url"] is None
    assert body["meta"]["url"] == body["meta"]["first_page_url"] == "http://127.0.0.1:8080/v1/Services?PageSize=50&Page=0"
