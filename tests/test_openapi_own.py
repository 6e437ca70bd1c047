"""``GET /openapi.json``: valid OpenAPI, listing exactly the application's own (non-Twilio, non-console) routes, each
of whose operations answers a real server with a status it lists and a body its schema accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from starlette.routing import Route
from twilio.rest import Client

from loft.app import create_app
from loft.config import Settings
from loft.openapi import DOCUMENT
from tests.support import openapi
from tests.support.server import LoftServer
from tests.support.waiting import eventually

METHODS = ("get", "post", "put", "patch", "delete")


def _shape(template: str) -> str:
    """A path template with its parameters' names left out: Starlette's ``{sid}`` is the document's ``{Sid}``."""
    parts = template.split("/")
    return "/".join("{}" if part.startswith("{") else part for part in parts)


def _own_routes(tmp_path: Path) -> set[tuple[str, str]]:
    app: Any = create_app(Settings(data_dir=tmp_path))
    while not hasattr(app, "routes"):
        app = app.app
    found = set()
    for route in app.routes:
        if not isinstance(route, Route) or route.path.startswith(("/2010-04-01/", "/v1/", "/v2/", "/console")):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((_shape(route.path), method.lower()))
    return found


def test_the_document_is_valid_openapi() -> None:
    validate(DOCUMENT)  # raises OpenAPIValidationError with the offending part


def test_the_document_lists_every_route_of_loft_s_own_and_nothing_else(tmp_path: Path) -> None:
    documented = {(_shape(path), method) for path, item in DOCUMENT["paths"].items() for method in METHODS
                  if method in item}
    assert documented == _own_routes(tmp_path)


def test_every_operation_answers_as_documented(loft: LoftServer, client: Client, account: tuple[str, str],
                                               sender: str) -> None:
    sid = account[0]
    message = client.messages.create(to="+15558675310", from_=sender, body="for the webhook log")
    assert eventually(lambda: client.messages(message.sid).fetch().status == "delivered")  # in the handset's inbox
    endpoint = {"MessagingEndpoint": "http://127.0.0.1:9/api/messages"}
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=30) as http:
        bot = http.post(f"/loft/v1/Accounts/{sid}/Bots", data=endpoint).json()["sid"]
        values = {"PhoneNumber": "+15558675310", "AccountSid": sid, "Sid": str(message.sid), "Name": "upstream",
                  "BotSid": bot, "Key": "k", "Conversation": "+15558675310|" + sender, "ActivityId": "SM0",
                  "MessageSid": str(message.sid)}
        forms = {"textFromHandset": {"To": sender, "Body": "hello"}, "configureHandset": {"Behavior": "deliver"},
                 "advanceClock": {"AdvanceSeconds": "60"}, "createBot": endpoint, "updateBot": endpoint}
        served = http.get("/openapi.json")
        assert served.status_code == 200 and served.json() == DOCUMENT
        answered = 0
        for template, item in DOCUMENT["paths"].items():
            path = template
            for name, value in values.items():
                path = path.replace("{" + name + "}", value.replace("+", "%2B"))
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                response = http.request(method.upper(), path, data=forms.get(operation["operationId"]))
                documented = operation["responses"].get(str(response.status_code))
                assert documented is not None, (method, path, response.status_code, response.text)
                answered += 1
                # This server has no carriers file: no relay of that name. And the clock is every test's: a
                # subaccount may not move it (tests/sim/test_clock.py moves clocks of servers of its own). The bot's
                # sms_url takes only signed requests, its connector its own key (tests/bots). An SMS is not read
                # with a receipt (RCS messages are: tests/content/test_send.py).
                refused = {"readOnHandset": 400, "relayInbound": 404, "relayStatusCallback": 404, "advanceClock": 403, "botSms": 403, "botSmsGet": 403,
                           "botCreateConversation": 404, "botSendToConversation": 404, "botReplyToActivity": 404,
                           "botToken": 401}
                if operation["operationId"] in refused:
                    assert response.status_code == refused[operation["operationId"]], response.text
                    schema = openapi.own_schema(documented["content"]["application/json"]["schema"])
                    OAS31Validator(schema).validate(response.json())
                    continue
                if response.status_code == 204:  # a delete
                    continue
                if "content" not in documented:  # a redirect
                    assert response.is_redirect and response.headers["location"] == "/console"
                    continue
                assert 200 <= response.status_code < 300, (method, path, response.text)
                content = documented["content"]
                if "application/json" in content:
                    schema = openapi.own_schema(content["application/json"]["schema"])
                    OAS31Validator(schema).validate(response.json())
                else:
                    assert response.headers["content-type"].startswith("text/plain")
    assert answered == 30


@pytest.mark.parametrize("path, status", [("/sim/v1/Handsets/%2B15558675310", 401), ("/openapi.json", 200)])
def test_the_simulator_asks_for_credentials_and_the_document_does_not(loft: LoftServer, path: str,
                                                                       status: int) -> None:
    response = httpx.get(f"{loft.base_url}{path}")
    assert response.status_code == status
    if status == 401:
        OAS31Validator(openapi.own_schema(DOCUMENT["paths"]["/sim/v1/Handsets/{PhoneNumber}"]["get"]["responses"]["401"]
                                 ["content"]["application/json"]["schema"])).validate(response.json())
