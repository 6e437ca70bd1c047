from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.clients import checked
from tests.support.server import LoftServer
from tests.support.sim import Sim
from tests.support.waiting import eventually


def test_create_returns_a_queued_message_in_twilios_shape(client: Client, sender: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body="Hello there")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.to == "+15558675310"
    assert message.from_ == sender
    assert message.body == "Hello there"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.price is None and message.price_unit == "USD"
    assert message.date_sent is None and message.date_created is not None
    assert message.uri == f"/2010-04-01/Accounts/{message.account_sid}/Messages/{message.sid}.json"


def test_create_unowned_from_is_refused(client: Client) -> None:
    with pytest.raises(TwilioRestException) as info:
        client.messages.create(to="+15558675310", from_="+14155550100", body="hi")
    assert info.value.status == 400 and info.value.code == 21606


# Boundaries and Twilio's test numbers ---------------------------------------------------------------------


def test_create_accepts_a_body_of_exactly_1600_characters(client: Client, sender: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body="x" * 1600)
    assert message.body == "x" * 1600
    assert message.num_segments == "11"  # 1600 GSM-7 septets, 153 a part


def test_create_magic_from_15005550006_passes_validation_without_being_owned(client: Client) -> None:
    assert client.incoming_phone_numbers.list() == []
    message = client.messages.create(to="+15558675310", from_="+15005550006", body="hi")
    assert message.status == "queued" and message.from_ == "+15005550006"
    assert [m.sid for m in client.messages.list()] == [message.sid]


def test_create_alphanumeric_sender_reaches_a_french_number(client: Client) -> None:
    message = client.messages.create(to="+33612345678", from_="Loft", body="Bonjour")
    assert message.from_ == "Loft" and message.to == "+33612345678"
    assert message.sid.startswith("SM") and message.status == "queued"


# Optional parameters Twilio accepts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"max_price": 0.5}, id="max-price"),
        pytest.param({"provide_feedback": False}, id="provide-feedback-false"),
        pytest.param({"attempt": 1}, id="attempt"),
        pytest.param({"validity_period": 1}, id="validity-period-1"),
        pytest.param({"validity_period": 36000}, id="validity-period-36000"),
        pytest.param({"force_delivery": True}, id="force-delivery"),
        pytest.param({"content_retention": "retain"}, id="content-retention-retain"),
        pytest.param({"address_retention": "retain"}, id="address-retention-retain"),
        pytest.param({"smart_encoded": False}, id="smart-encoded-false"),
        pytest.param({"smart_encoded": True}, id="smart-encoded-true"),
        pytest.param({"persistent_action": ["mailto:test@example.com"]}, id="persistent-action"),
        pytest.param({"persistent_action": ["mailto:test@example.com", "geo:37.7749,-122.4194"]},
                     id="persistent-action-repeated"),
        pytest.param({"send_as_mms": False}, id="send-as-mms-false"),
        pytest.param({"risk_check": "enable"}, id="risk-check-enable"),
        pytest.param({"risk_check": "disable"}, id="risk-check-disable"),
        pytest.param({"status_callback": "https://example.com/status"}, id="status-callback"),
        pytest.param({"status_callback": "http://127.0.0.1:9/cb?x=1"}, id="status-callback-http-with-query"),
    ],
)
def test_create_accepts_optional_parameter(client: Client, sender: str, extra: dict[str, Any]) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body="Hello there", **extra)
    assert message.status == "queued" and message.body == "Hello there"
    assert [m.sid for m in client.messages.list()] == [message.sid]


def test_create_with_provide_feedback_offers_the_feedback_subresource(client: Client, sender: str) -> None:
    plain = client.messages.create(to="+15558675310", from_=sender, body="hi")
    asked = client.messages.create(to="+15558675310", from_=sender, body="hi", provide_feedback=True)
    assert "feedback" not in plain.subresource_uris
    assert asked.subresource_uris["feedback"] == (
        f"/2010-04-01/Accounts/{asked.account_sid}/Messages/{asked.sid}/Feedback.json"
    )


def test_create_accepts_an_application_sid_of_the_account(client: Client, sender: str) -> None:
    application = client.applications.create(friendly_name="replies", sms_url="https://example.com/sms")
    message = client.messages.create(to="+15558675310", from_=sender, body="hi", application_sid=application.sid)
    assert message.status == "queued"
    assert client.messages(message.sid).fetch().sid == message.sid


#: What a message's resource says from its creation on (status, dates of sending and price move with delivery).
_SET_AT_CREATION = ("account_sid", "api_version", "body", "date_created", "direction", "from", "to",
                    "messaging_service_sid", "num_media", "num_segments", "price_unit", "sid", "subresource_uris",
                    "uri")


@pytest.mark.parametrize("extra", [
    pytest.param({}, id="plain"),
    pytest.param({"StatusCallback": "https://example.com/status", "ProvideFeedback": "true",
                  "ValidityPeriod": "600", "Attempt": "2"}, id="with-options"),
    pytest.param({"Body": "ł" * 71}, id="ucs2-two-segments"),
    pytest.param({"SendAsMms": "true"}, id="mms"),
])
def test_create_answers_what_a_fetch_then_reads(loft: LoftServer, account: tuple[str, str], sender: str,
                                                 extra: dict[str, str]) -> None:
    """The 201 is made from the values written, not from a read of the row: both must say the same."""
    url = f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Messages"
    form = {"To": "+15558675310", "From": sender, "Body": "Hello there", **extra}
    created = checked(httpx.post(f"{url}.json", data=form, auth=account, timeout=30))
    assert created.status_code == 201, created.text
    sid = created.json()["sid"]
    fetched = checked(httpx.get(f"{url}/{sid}.json", auth=account, timeout=30))
    assert fetched.status_code == 200, fetched.text
    assert {key: created.json()[key] for key in _SET_AT_CREATION} == {key: fetched.json()[key]
                                                                     for key in _SET_AT_CREATION}
    xml_created = httpx.post(f"{url}.xml", data=form, auth=account, timeout=30)
    xml_sid = ElementTree.fromstring(xml_created.content).findtext("Message/Sid")
    xml_fetched = httpx.get(f"{url}/{xml_sid}.xml", auth=account, timeout=30)
    tags = ("AccountSid", "Body", "DateCreated", "Direction", "From", "To", "NumSegments", "Uri")
    assert [ElementTree.fromstring(xml_created.content).findtext(f"Message/{tag}") for tag in tags] == \
        [ElementTree.fromstring(xml_fetched.content).findtext(f"Message/{tag}") for tag in tags]


# Segments and encoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        pytest.param("a" * 160, "1", id="160-gsm-is-1"),
        pytest.param("a" * 161, "2", id="161-gsm-is-2"),
        pytest.param("é" * 160, "1", id="160-e-acute-is-gsm-1"),
        pytest.param("é" * 161, "2", id="161-e-acute-is-gsm-2"),
        pytest.param("ł" * 70, "1", id="70-ucs2-is-1"),
        pytest.param("ł" * 71, "2", id="71-ucs2-is-2"),
        pytest.param("a" * 159 + "ł", "3", id="one-ucs2-char-makes-the-whole-body-ucs2"),
        pytest.param("€" * 80, "1", id="80-euro-signs-are-160-septets-1"),
        pytest.param("€" * 81, "2", id="81-euro-signs-are-162-septets-2"),
        pytest.param("😀" * 35, "1", id="35-emoji-are-70-code-units-1"),
        pytest.param("😀" * 36, "2", id="36-emoji-are-72-code-units-2"),
    ],
)
def test_create_counts_segments_as_twilio_does(client: Client, sender: str, body: str, segments: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body=body)
    assert message.num_segments == segments
    assert client.messages(message.sid).fetch().num_segments == segments


CURLY = "\u201cLoft\u201d says \u2018hi\u2019 " + "a" * 100


def test_create_smart_encoded_straightens_curly_quotes_and_saves_segments(client: Client, sender: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body=CURLY, smart_encoded=True)
    straight = "\"Loft\" says 'hi' " + "a" * 100
    assert message.body == straight
    assert message.num_segments == "1"  # 117 GSM-7 septets instead of 117 UCS-2 code units (2 parts)
    assert client.messages(message.sid).fetch().body == straight


@pytest.mark.parametrize("smart_encoded", [pytest.param(None, id="absent"), pytest.param(False, id="false")])
def test_create_without_smart_encoding_leaves_the_body_untouched(
    client: Client, sender: str, smart_encoded: bool | None
) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body=CURLY, smart_encoded=smart_encoded)
    assert message.body == CURLY
    assert message.num_segments == "2"
    assert client.messages(message.sid).fetch().body == CURLY


def test_create_send_as_mms_without_media_is_one_mms(client: Client, sender: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body="a" * 400, send_as_mms=True)
    assert message.sid.startswith("MM")
    assert message.num_segments == "1" and message.num_media == "0"
    assert client.messages(message.sid).fetch().sid == message.sid


# Raw form posts, as marketing tools send them -------------------------------------------------------------


def _basic(account: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{account[0]}:{account[1]}".encode()).decode()


def _braze_post(loft: LoftServer, account: tuple[str, str], suffix: str, *, to: str, from_: str,
                body: str) -> httpx.Response:
    """Braze's Twilio webhook template: a hand-made form body, labelled as plain text, Basic auth by hand."""
    form = f"To={quote(to, safe='')}&From={quote(from_, safe='')}&Body={quote(body, safe='')}"
    return httpx.post(
        f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Messages{suffix}",
        content=form.encode(),
        headers={"Authorization": _basic(account), "Content-Type": "text/plain"},
        timeout=30,
    )


def test_create_from_a_plain_text_labelled_form_answers_json(
    loft: LoftServer, account: tuple[str, str], client: Client, sender: str
) -> None:
    response = checked(_braze_post(loft, account, ".json", to="+15558675310", from_=sender,
                                   body="Bonjour de Braze! 1+1=2 & plus"))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert (data["to"], data["from"], data["body"]) == ("+15558675310", sender, "Bonjour de Braze! 1+1=2 & plus")
    assert client.messages(data["sid"]).fetch().body == "Bonjour de Braze! 1+1=2 & plus"


@pytest.mark.parametrize("suffix", [pytest.param(".xml", id="xml-suffix"), pytest.param("", id="no-suffix")])
def test_create_from_a_plain_text_labelled_form_answers_xml(
    loft: LoftServer, account: tuple[str, str], client: Client, sender: str, suffix: str
) -> None:
    response = _braze_post(loft, account, suffix, to="+15558675310", from_=sender, body="Bonjour de Braze!")
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "TwilioResponse"
    message = root.find("Message")
    assert message is not None
    sid = message.findtext("Sid") or ""
    assert sid.startswith("SM") and len(sid) == 34
    assert message.findtext("Status") == "queued"
    assert message.findtext("To") == "+15558675310"
    assert message.findtext("From") == sender
    assert message.findtext("Body") == "Bonjour de Braze!"
    assert [m.sid for m in client.messages.list()] == [sid]


@pytest.mark.parametrize("suffix", [pytest.param(".xml", id="xml-suffix"), pytest.param("", id="no-suffix")])
def test_create_refusal_from_a_form_post_is_an_xml_rest_exception(
    loft: LoftServer, account: tuple[str, str], client: Client, sender: str, suffix: str
) -> None:
    response = _braze_post(loft, account, suffix, to="abc", from_=sender, body="Bonjour de Braze!")
    assert response.status_code == 400
    root = ElementTree.fromstring(response.content)
    assert root.tag == "TwilioResponse"
    assert root.findtext("RestException/Code") == "21211"
    assert root.findtext("RestException/Status") == "400"
    assert root.findtext("RestException/MoreInfo") == "https://www.twilio.com/docs/errors/21211"
    assert client.messages.list() == []


# Bodies are stored as sent --------------------------------------------------------------------------------


UNICODE_BODY = "Héllo 👋🏽 👨‍👩‍👧 你好，世界 こんにちは שלום עולם مرحبا بالعالم"


def test_create_round_trips_a_unicode_body(client: Client, sender: str) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body=UNICODE_BODY)
    assert message.body == UNICODE_BODY
    assert client.messages(message.sid).fetch().body == UNICODE_BODY
    assert [m.body for m in client.messages.list()] == [UNICODE_BODY]


SCRIPT_BODY = '<script>alert("hi & bye")</script> ]]> <![CDATA[x]]>'


def test_create_stores_markup_in_a_body_verbatim(
    loft: LoftServer, account: tuple[str, str], client: Client, sender: str
) -> None:
    message = client.messages.create(to="+15558675310", from_=sender, body=SCRIPT_BODY)
    assert message.body == SCRIPT_BODY
    assert client.messages(message.sid).fetch().body == SCRIPT_BODY
    response = httpx.get(f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Messages/{message.sid}.xml",
                         headers={"Authorization": _basic(account)}, timeout=30)
    assert response.status_code == 200
    assert ElementTree.fromstring(response.content).findtext("Message/Body") == SCRIPT_BODY


def test_creates_that_arrive_together_each_get_their_own_answer(
        loft: LoftServer, main_client: Client, account: tuple[str, str], client: Client, sender: str,
        sim: Sim) -> None:
    """Creates that arrive at once are checked and stored together (a few statements for all of them): each
    still gets its own answer, in Twilio's order of checks, and a refused one leaves nothing behind."""
    other = main_client.api.accounts.create(friendly_name="someone else")
    foreign_app = clients.sdk(loft.base_url, other.sid, other.auth_token).applications.create(friendly_name="x")
    own_app = client.applications.create(friendly_name="mine")
    sim.text("+15558710999", sender, "STOP")  # opts out of this sender
    eventually(lambda: sim.inbox("+15558710999"))
    cases = {
        "ok": ({"To": "+15558710001", "From": sender}, 201, None),
        "ok-with-app": ({"To": "+15558710002", "From": sender, "ApplicationSid": own_app.sid}, 201, None),
        "unowned": ({"To": "+15558710003", "From": "+14155550199"}, 400, 21606),
        "foreign-app": ({"To": "+15558710004", "From": sender, "ApplicationSid": foreign_app.sid}, 400, 20001),
        "opted-out": ({"To": "+15558710999", "From": sender}, 400, 21610),
        "magic-from": ({"To": "+15558710005", "From": "+15005550006"}, 201, None),
    }
    url = f"{loft.base_url}/2010-04-01/Accounts/{account[0]}/Messages.json"

    def create(name: str) -> tuple[str, httpx.Response]:
        form, _, _ = cases[name]
        with httpx.Client(auth=account, timeout=30) as http:
            return name, http.post(url, data={**form, "Body": f"together: {name}"})

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(create, [name for name in cases for _ in range(4)]))
    created = []
    for name, response in answers:
        _, status, code = cases[name]
        assert response.status_code == status, (name, response.text)
        if code is not None:
            assert response.json()["code"] == code, (name, response.text)
        else:
            assert response.json()["body"] == f"together: {name}"
            created.append(response.json()["sid"])
    listed = {m.sid: m.body for m in client.messages.list(page_size=100) if m.direction == "outbound-api"}
    assert sorted(listed) == sorted(created)  # the refused left no message behind
    assert len(set(created)) == 12
