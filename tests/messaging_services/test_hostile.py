"""Whatever a client sends to the messaging v1 API (the hostile values of issue 17: NUL characters, 64-bit overflows,
sheer size, odd digits), Loft answers Twilio's error body on both backends, never a 5xx or a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.rest import Client

from tests.support.server import LoftServer
from tests.test_fuzz import HOSTILE, check, hostile_segments, hostile_values

#: Every parameter name the v1 endpoints read, in bodies and query strings.
PARAMETERS = [
    "FriendlyName", "InboundRequestUrl", "InboundMethod", "FallbackUrl", "FallbackMethod", "StatusCallback",
    "StickySender", "MmsConverter", "SmartEncoding", "ScanMessageContent", "FallbackToLongCode", "AreaCodeGeomatch",
    "ValidityPeriod", "SynchronousValidation", "Usecase", "UseInboundWebhookOnNumber", "PhoneNumberSid",
    "ShortCodeSid", "AlphaSender", "IsoCountryCode", "Sid", "PageSize", "Page", "PageToken",
]
COLLECTIONS = ["", "/PhoneNumbers", "/ShortCodes", "/AlphaSenders", "/DestinationAlphaSenders", "/ChannelSenders"]
hostile_pairs = st.lists(st.tuples(st.sampled_from(PARAMETERS), hostile_values), min_size=1, max_size=6)


@pytest.fixture
def v1(loft: LoftServer, account: tuple[str, str], client: Client) -> Iterator[tuple[httpx.Client, str]]:
    """A raw client of a fresh subaccount, and a service of it whose pool holds a number."""
    service = client.messaging.v1.services.create(friendly_name="hostile").sid
    number = client.incoming_phone_numbers.create(area_code="415").sid
    client.messaging.v1.services(service).phone_numbers.create(phone_number_sid=number)
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=60) as http:
        yield http, service


@HOSTILE
@given(data=st.data(), query=hostile_pairs)
def test_hostile_list_queries_get_a_twilio_answer(v1: tuple[httpx.Client, str], data: st.DataObject,
                                                  query: list[tuple[str, str]]) -> None:
    http, service = v1
    collection = data.draw(st.sampled_from(COLLECTIONS))
    path = f"/v1/Services/{service}{collection}" if collection else data.draw(
        st.sampled_from(["/v1/Services", "/v1/Services/Usecases"]))
    check(http.get(f"{path}?{urlencode(query)}"))


@HOSTILE
@given(data=st.data(), segment=hostile_segments, method=st.sampled_from(["GET", "DELETE", "POST"]))
def test_hostile_sids_get_a_twilio_answer(v1: tuple[httpx.Client, str], data: st.DataObject, segment: str,
                                          method: str) -> None:
    http, service = v1
    sid = quote(segment, safe="")
    collection = data.draw(st.sampled_from(COLLECTIONS))
    path = data.draw(st.sampled_from([f"/v1/Services/{sid}{collection}", f"/v1/Services/{service}{collection}/{sid}"
                                      if collection else f"/v1/Services/{sid}"]))
    check(http.request(method, path))


@HOSTILE
@given(data=st.data(), form=hostile_pairs)
def test_hostile_forms_get_a_twilio_answer(v1: tuple[httpx.Client, str], data: st.DataObject,
                                           form: list[tuple[str, str]]) -> None:
    http, service = v1
    path = data.draw(st.sampled_from(["/v1/Services", f"/v1/Services/{service}",
                                      *(f"/v1/Services/{service}{collection}" for collection in COLLECTIONS[1:])]))
    check(http.post(path, content=urlencode(form).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"}))
