"""The XML twin of every resource Loft renders names its elements as Twilio does.

The expected element of each JSON field is derived here, independently of ``loft.kit.render``: from Twilio's
OpenAPI description (tests/twilio-oai), which gives a field's XML name where it is not the JSON name capitalised
word by word (``@JacksonXmlProperty(localName="SMS")`` on a phone number's ``capabilities.sms``), and otherwise
by that rule (``sms_url`` → ``SmsUrl``, ``api_version`` → ``ApiVersion``, ``subresource_uris`` →
``SubresourceUris``). Every JSON field must also be a field the description knows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from twilio.rest import Client

from tests.support import openapi
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
_LOCAL_NAME = re.compile(r'@JacksonXmlProperty\(localName="([^"]+)"\)')


def _resolved(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: Mapping[str, Any] = openapi.spec()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def _response_schema(method: str, path: str, status: int) -> Mapping[str, Any]:
    template = openapi.template_for(path)
    assert template is not None, f"{path}: not in Twilio's spec"
    response = openapi.spec()["paths"][template][method.lower()]["responses"][str(status)]
    return _resolved(response["content"]["application/json"]["schema"])


def xml_name(field: str, schema: Mapping[str, Any] | None) -> str:
    """What Twilio calls the JSON field ``field`` (described by ``schema``, if the spec describes it) in XML."""
    annotation = str((schema or {}).get("x-field-extra-annotation", ""))
    named = _LOCAL_NAME.search(annotation)
    return named.group(1) if named else "".join(word.capitalize() for word in field.split("_"))


def mismatches(where: str, data: Mapping[str, Any], element: ElementTree.Element,
               schema: Mapping[str, Any] | None) -> Iterator[str]:
    """Every difference between the elements Loft wrote and the ones Twilio's names call for."""
    properties: Mapping[str, Any] = _resolved(schema or {}).get("properties") or {}
    expected = []
    for field, value in data.items():
        # An available number's JSON capabilities carry real Twilio's SMS and MMS beside the spec's sms and mms
        # (docs/compatibility.md): Twilio's own spelling is its XML name too, and the spec's twin has no element.
        if field.isupper() and field.lower() in data:
            expected.append(field)
            continue
        if field.islower() and field.upper() in data:
            continue
        described = properties.get(field)
        if properties and described is None:
            yield f"{where}: JSON field {field!r} is not in Twilio's spec"
        described = _resolved(described) if described else None
        expected.append(xml_name(field, described))
        child = element.find(expected[-1])
        if isinstance(value, Mapping) and child is not None:
            yield from mismatches(f"{where}.{field}", value, child, described)
    written = [child.tag for child in element]
    if len(written) != len(expected):
        yield f"{where}: Loft wrote {written}, Twilio writes {expected}"
    else:
        yield from (f"{where}: Loft wrote <{tag}> where Twilio writes <{name}>"
                    for tag, name in zip(written, expected, strict=True) if tag != name)


def _get(loft: LoftServer, auth: tuple[str, str], path: str, params: Mapping[str, str] | None = None
         ) -> tuple[dict[str, Any], ElementTree.Element]:
    """The JSON form of ``path`` (…``.json``) and the XML document of the same resource."""
    as_json = httpx.get(loft.base_url + path, params=params, auth=auth, timeout=30)
    as_xml = httpx.get(loft.base_url + path.removesuffix(".json") + ".xml", params=params, auth=auth, timeout=30)
    assert as_json.status_code == as_xml.status_code == 200, (path, as_json.text, as_xml.text)
    return as_json.json(), ElementTree.fromstring(as_xml.content)


def check_resource(loft: LoftServer, auth: tuple[str, str], path: str, tag: str) -> list[str]:
    data, document = _get(loft, auth, path)
    element = document.find(tag)
    assert element is not None, f"{path}: no <{tag}> in {ElementTree.tostring(document)[:300]!r}"
    return list(mismatches(path, data, element, _response_schema("GET", path, 200)))


def check_list(loft: LoftServer, auth: tuple[str, str], path: str, key: str, list_tag: str, item_tag: str,
               params: Mapping[str, str] | None = None) -> list[str]:
    data, document = _get(loft, auth, path, params)
    items = document.findall(f"{list_tag}/{item_tag}")
    assert data[key] and len(items) == len(data[key]), f"{path}: {len(data[key])} in JSON, {len(items)} in XML"
    schema = _response_schema("GET", path, 200)["properties"][key]["items"]
    return [problem for record, item in zip(data[key], items, strict=True)
            for problem in mismatches(f"{path} {item_tag}", record, item, schema)]


@pytest.fixture
def mms(client: Client, sender: str, receiver: Receiver) -> str:
    """A message with one media item and the feedback subresource."""
    receiver.answer("/cat.png", Answer(raw=PNG, content_type="image/png"))
    message = client.messages.create(to="+15558670001", from_=sender, body="a cat", provide_feedback=True,
                                     media_url=[receiver.url("/cat.png")])
    eventually(lambda: client.messages(message.sid).media.list())
    return str(message.sid)


def test_every_xml_element_is_named_as_twilio_names_it(loft: LoftServer, account: tuple[str, str], client: Client,
                                                       sender: str, mms: str) -> None:
    sid = account[0]
    base = f"/2010-04-01/Accounts/{sid}"
    number = client.incoming_phone_numbers.list(phone_number=sender)[0]
    client.incoming_phone_numbers(number.sid).update(sms_url="https://bot.example.com/sms", sms_method="GET")
    application = client.applications.create(friendly_name="bot", sms_url="https://bot.example.com/sms",
                                             sms_status_callback="https://bot.example.com/status")
    key = client.new_keys.create(friendly_name="ci")
    media = client.messages(mms).media.list()[0]

    problems = [
        *check_resource(loft, account, f"{base}.json", "Account"),
        *check_list(loft, account, "/2010-04-01/Accounts.json", "accounts", "Accounts", "Account"),
        *check_resource(loft, account, f"{base}/Keys/{key.sid}.json", "Key"),
        *check_list(loft, account, f"{base}/Keys.json", "keys", "Keys", "Key"),
        *check_resource(loft, account, f"{base}/IncomingPhoneNumbers/{number.sid}.json", "IncomingPhoneNumber"),
        *check_list(loft, account, f"{base}/IncomingPhoneNumbers.json", "incoming_phone_numbers",
                    "IncomingPhoneNumbers", "IncomingPhoneNumber"),
        *check_resource(loft, account, f"{base}/Applications/{application.sid}.json", "Application"),
        *check_list(loft, account, f"{base}/Applications.json", "applications", "Applications", "Application"),
        *check_resource(loft, account, f"{base}/Messages/{mms}.json", "Message"),
        *check_list(loft, account, f"{base}/Messages.json", "messages", "Messages", "Message"),
        *check_resource(loft, account, f"{base}/Messages/{mms}/Media/{media.sid}.json", "Media"),
        *check_list(loft, account, f"{base}/Messages/{mms}/Media.json", "media_list", "MediaList", "Media"),
        *check_list(loft, account, f"{base}/Usage/Records.json", "usage_records", "UsageRecords", "UsageRecord"),
        *check_list(loft, account, f"{base}/Usage/Records/Daily.json", "usage_records", "UsageRecords",
                    "UsageRecord", {"Category": "sms"}),
        *check_resource(loft, account, f"{base}/Balance.json", "Balance"),
        *check_resource(loft, account, f"{base}/AvailablePhoneNumbers/US.json", "Country"),
        *check_list(loft, account, f"{base}/AvailablePhoneNumbers.json", "countries", "Countries", "Country"),
        *check_list(loft, account, f"{base}/AvailablePhoneNumbers/US/Local.json", "available_phone_numbers",
                    "AvailablePhoneNumbers", "AvailablePhoneNumber", {"AreaCode": "415", "PageSize": "3"}),
    ]
    assert not problems, "\n".join(problems)


def test_feedback_is_named_as_twilio_names_it(loft: LoftServer, account: tuple[str, str], mms: str) -> None:
    path = f"/2010-04-01/Accounts/{account[0]}/Messages/{mms}/Feedback"
    as_json = httpx.post(f"{loft.base_url}{path}.json", data={"Outcome": "confirmed"}, auth=account, timeout=30)
    as_xml = httpx.post(f"{loft.base_url}{path}.xml", data={"Outcome": "confirmed"}, auth=account, timeout=30)
    assert as_json.status_code == as_xml.status_code, as_xml.text
    element = ElementTree.fromstring(as_xml.content).find("Feedback")
    assert element is not None
    schema = _response_schema("POST", f"{path}.json", as_json.status_code)
    assert list(mismatches(path, as_json.json(), element, schema)) == []
