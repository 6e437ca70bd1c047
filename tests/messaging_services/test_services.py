"""``/v1/Services`` through the official SDK (``client.messaging.v1.services``): every field of the spec's service
resource created, read, changed and cleared; deletion; the use cases; Twilio's codes for bad parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import server_of_its_own
from tests.messaging_services.conftest import refused
from tests.support import clients
from tests.support.server import LoftServer

EVERY_FIELD = {
    "friendly_name": "Appointments",
    "inbound_request_url": "https://example.com/inbound",
    "inbound_method": "GET",
    "fallback_url": "https://example.com/fallback",
    "fallback_method": "GET",
    "status_callback": "https://example.com/status",
    "sticky_sender": False,
    "mms_converter": False,
    "smart_encoding": False,
    "scan_message_content": "disable",
    "fallback_to_long_code": True,
    "area_code_geomatch": False,
    "validity_period": 600,
    "synchronous_validation": False,
    "usecase": "notifications",
    "use_inbound_webhook_on_number": True,
}
LINKS = {"phone_numbers": "PhoneNumbers", "short_codes": "ShortCodes", "alpha_senders": "AlphaSenders",
         "messages": "Messages", "us_app_to_person": "Compliance/Usa2p",
         "us_app_to_person_usecases": "Compliance/Usa2p/Usecases", "channel_senders": "ChannelSenders",
         "destination_alpha_senders": "DestinationAlphaSenders"}


def test_create_with_every_field_keeps_each_and_answers_v1_s_shape(loft: LoftServer, client: Client) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    created = client.messaging.v1.services.create(**EVERY_FIELD)
    assert created.sid.startswith("MG") and len(created.sid) == 34
    assert created.account_sid == client.account_sid
    for name, value in EVERY_FIELD.items():
        assert getattr(created, name) == value, name
    assert created.us_app_to_person_registered is False
    assert created.url == f"{loft.base_url}/v1/Services/{created.sid}"
    assert created.links == {key: f"{created.url}/{path}" for key, path in LINKS.items()}
    # ISO 8601 dates (the SDK parses them; an RFC 2822 date would come back as the raw string).
    assert isinstance(created.date_created, datetime) and created.date_created >= before - timedelta(seconds=1)
    assert created.date_updated == created.date_created
    fetched = client.messaging.v1.services(created.sid).fetch()
    for name in (*EVERY_FIELD, "sid", "url", "links", "date_created", "date_updated"):
        assert getattr(fetched, name) == getattr(created, name), name


def test_create_with_a_name_only_takes_twilio_s_defaults(client: Client) -> None:
    created = client.messaging.v1.services.create(friendly_name="Defaults")
    assert (created.inbound_request_url, created.fallback_url, created.status_callback) == (None, None, None)
    assert (created.inbound_method, created.fallback_method) == ("POST", "POST")
    assert created.sticky_sender and created.mms_converter and created.smart_encoding and created.area_code_geomatch
    assert created.synchronous_validation and not created.fallback_to_long_code
    assert not created.use_inbound_webhook_on_number
    assert created.scan_message_content == "inherit"
    assert created.validity_period == 36000
    assert created.usecase == "undeclared"


def test_update_changes_what_it_names_only_and_an_empty_url_clears_it(client: Client) -> None:
    created = client.messaging.v1.services.create(**EVERY_FIELD)
    updated = client.messaging.v1.services(created.sid).update(friendly_name="Renamed", inbound_request_url="",
                                                               sticky_sender=True, validity_period=36000,
                                                               usecase="marketing")
    assert updated.friendly_name == "Renamed"
    assert updated.inbound_request_url is None
    assert updated.sticky_sender is True and updated.validity_period == 36000 and updated.usecase == "marketing"
    for name in ("fallback_url", "status_callback", "inbound_method", "smart_encoding", "scan_message_content",
                 "area_code_geomatch", "use_inbound_webhook_on_number"):
        assert getattr(updated, name) == EVERY_FIELD[name], name
    assert updated.date_created == created.date_created and updated.date_updated >= created.date_updated
    assert client.messaging.v1.services(created.sid).fetch().friendly_name == "Renamed"


def test_delete_answers_204_and_the_service_is_gone(client: Client, service_sid: str) -> None:
    assert client.messaging.v1.services(service_sid).delete() is True
    gone = refused(client.messaging.v1.services(service_sid).fetch)
    assert (gone.status, gone.code) == (404, 20404)
    assert service_sid not in [each.sid for each in client.messaging.v1.services.list()]
    again = refused(client.messaging.v1.services(service_sid).delete)
    assert (again.status, again.code) == (404, 20404)


def test_list_shows_the_account_s_services_in_the_order_they_were_made(client: Client) -> None:
    made = [client.messaging.v1.services.create(friendly_name=f"service {n}").sid for n in range(3)]
    assert [each.sid for each in client.messaging.v1.services.list()] == made


def test_usecases_are_twilio_s_six(client: Client) -> None:
    found = client.messaging.v1.usecases.fetch().usecases
    assert [each["usecase"] for each in found] == ["notifications", "marketing", "verification", "discussion",
                                                   "poll", "undeclared"]
    assert all(each["description"] and each["purpose"] for each in found)


BAD_CREATES = [
    pytest.param({}, 20001, "FriendlyName", id="friendly-name-missing"),
    pytest.param({"FriendlyName": "  "}, 20001, "FriendlyName", id="friendly-name-blank"),
    pytest.param({"FriendlyName": "x" * 65}, 20001, "64", id="friendly-name-too-long"),
    pytest.param({"InboundRequestUrl": "not a url"}, 20001, "InboundRequestUrl", id="inbound-url-not-a-url"),
    pytest.param({"FallbackUrl": "ftp://example.com/"}, 20001, "FallbackUrl", id="fallback-url-not-http"),
    pytest.param({"StatusCallback": "https://bad_host.example/"}, 20001, "StatusCallback",
                 id="status-callback-underscore-host"),
    pytest.param({"InboundMethod": "PUT"}, 20001, "InboundMethod", id="inbound-method-put"),
    pytest.param({"FallbackMethod": "DELETE"}, 20001, "FallbackMethod", id="fallback-method-delete"),
    pytest.param({"StickySender": "maybe"}, 20001, "StickySender", id="sticky-sender-not-boolean"),
    pytest.param({"AreaCodeGeomatch": "yes"}, 20001, "AreaCodeGeomatch", id="geomatch-not-boolean"),
    pytest.param({"ValidityPeriod": "0"}, 20001, "ValidityPeriod", id="validity-period-zero"),
    pytest.param({"ValidityPeriod": "36001"}, 20001, "ValidityPeriod", id="validity-period-over-36000"),
    pytest.param({"ValidityPeriod": "ten"}, 20001, "ValidityPeriod", id="validity-period-not-a-number"),
    pytest.param({"Usecase": "spam"}, 20001, "Usecase", id="usecase-unknown"),
    pytest.param({"ScanMessageContent": "sometimes"}, 20001, "ScanMessageContent", id="scan-unknown"),
]


@pytest.mark.parametrize(("form", "code", "named"), BAD_CREATES)
def test_a_bad_parameter_is_refused_with_twilio_s_code(loft: LoftServer, account: tuple[str, str],
                                                       form: dict[str, str], code: int, named: str) -> None:
    """Each bad value, on create (with a name, but for the name's own cases) and on update, naming the parameter;
    nothing is made or changed."""
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        before = http.get("/v1/Services").json()["services"]
        create_form = form if "FriendlyName" in form or not form else {"FriendlyName": "bad", **form}
        answer = clients.checked(http.post("/v1/Services", data=create_form))
        assert (answer.status_code, answer.json()["code"]) == (400, code)
        assert named in answer.json()["message"]
        assert http.get("/v1/Services").json()["services"] == before
        if form:
            sid = clients.checked(http.post("/v1/Services", data={"FriendlyName": "good"})).json()["sid"]
            answer = clients.checked(http.post(f"/v1/Services/{sid}", data=form))
            assert (answer.status_code, answer.json()["code"]) == (400, code)
            assert http.get(f"/v1/Services/{sid}").json()["friendly_name"] == "good"


def test_urls_name_the_address_the_client_used(loft: LoftServer, account: tuple[str, str]) -> None:
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30,
                      headers={"Host": "loft.example:8443"}) as http:
        created = http.post("/v1/Services", data={"FriendlyName": "by another name"}).json()
        http.post("/v1/Services", data={"FriendlyName": "a second one"})
        page = http.get("/v1/Services", params={"PageSize": "1"}).json()
    assert created["url"] == f"http://loft.example:8443/v1/Services/{created['sid']}"
    assert page["meta"]["next_page_url"].startswith("http://loft.example:8443/v1/Services?")


@pytest.fixture(params=["sqlite"])
def public(request: pytest.FixtureRequest, tmp_path: Path) -> LoftServer:
    return server_of_its_own(request, tmp_path, LOFT_PUBLIC_URL="https://loft.example.com/")


def test_urls_start_with_loft_public_url_when_it_is_set(public: LoftServer) -> None:
    with public.running():
        client = clients.sdk(public.base_url, public.account_sid, public.auth_token)
        created = client.messaging.v1.services.create(friendly_name="public")
        assert created.url == f"https://loft.example.com/v1/Services/{created.sid}"
        assert created.links["phone_numbers"] == f"https://loft.example.com/v1/Services/{created.sid}/PhoneNumbers"
