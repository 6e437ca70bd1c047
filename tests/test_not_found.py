"""A 404 names the resource as the client asked for it (Twilio's "The requested resource {path} was not found").
Services raise :class:`loft.errors.NotFound` without the path, which they do not see; the edge that answers fills
it in (:meth:`loft.errors.TwilioApiError.at`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from loft.errors import InvalidParameter, NotFound
from tests.support.server import LoftServer

_ZEROS = "0" * 32


@pytest.mark.parametrize("path", [
    pytest.param("/2010-04-01/Accounts/{account}/Messages/SM{zeros}.json", id="message"),
    pytest.param("/2010-04-01/Accounts/{account}/Messages/SM{zeros}/Media/ME{zeros}.json", id="media-of-no-message"),
    pytest.param("/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/PN{zeros}.json", id="number"),
    pytest.param("/2010-04-01/Accounts/{account}/Applications/AP{zeros}.json", id="application"),
    pytest.param("/2010-04-01/Accounts/{account}/Keys/SK{zeros}.json", id="key"),
    pytest.param("/v1/Services/MG{zeros}", id="messaging-service"),
    pytest.param("/v1/Services/MG{zeros}/PhoneNumbers/PN{zeros}", id="service-number"),
    pytest.param("/v1/Content/HX{zeros}", id="content"),
    pytest.param("/v2/Channels/Senders/XE{zeros}", id="channel-sender"),
    pytest.param("/loft/v1/Accounts/{account}/Bots/BT{zeros}", id="bot"),
    pytest.param("/2010-04-01/Accounts/{account}/Nothing/Here.json", id="no-route"),
])
def test_a_404_names_the_path_the_client_asked_for(loft: LoftServer, account: tuple[str, str], path: str) -> None:
    asked = path.format(account=account[0], zeros=_ZEROS)
    answer = httpx.get(f"{loft.base_url}{asked}", auth=account)
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"code": 20404, "message": f"The requested resource {asked} was not found",
                             "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}


def test_a_404_in_xml_names_the_path_with_its_suffix(loft: LoftServer, account: tuple[str, str]) -> None:
    asked = f"/2010-04-01/Accounts/{account[0]}/Messages/SM{_ZEROS}.xml"
    answer = httpx.get(f"{loft.base_url}{asked}", auth=account)
    assert answer.status_code == 404
    assert ET.fromstring(answer.content).findtext("RestException/Message") == \
        f"The requested resource {asked} was not found"


def test_the_sdk_sees_the_path_of_a_message_that_is_not_there(client: Client, account: tuple[str, str]) -> None:
    with pytest.raises(TwilioRestException) as missing:
        client.messages(f"SM{_ZEROS}").update(body="")
    assert missing.value.status == 404 and missing.value.code == 20404
    assert f"/2010-04-01/Accounts/{account[0]}/Messages/SM{_ZEROS}.json was not found" in missing.value.msg


def test_at_fills_in_only_a_path_that_is_missing() -> None:
    assert NotFound().at("/a.json").message == "The requested resource /a.json was not found"
    assert NotFound("/given").at("/a.json").message == "The requested resource /given was not found"
    assert NotFound().message == "The requested resource was not found"
    other = InvalidParameter(21211, "The 'To' number is not valid")
    assert other.at("/a.json") is other
