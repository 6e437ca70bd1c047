"""``GET /openapi.json``: an OpenAPI 3.1 description of Loft's own HTTP endpoints — the simulator
(``/sim/v1``), the webhook log (``/loft/v1``), the relay carriers' webhooks (``/carriers``), health, metrics and
this document.

The Twilio-compatible ``/2010-04-01`` API and the messaging ``/v1`` API are described by Twilio's own documents
(twilio-oai), which the SDKs are generated from; the console (``/console``) is web pages, not an API. Written by
hand, next to the endpoints' docstrings and docs/simulator.md: ``tests/test_openapi_own.py`` checks that it is
valid OpenAPI, that every route of Loft's own that the application has is in it (and nothing else), and that each
operation answers a real server with one of the statuses it lists.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from loft import __version__
from loft.delivery.carriers.sim import BEHAVIORS
from loft.kit import render
from loft.sim.clock import MAX_ADVANCE, MAX_OFFSET
from loft.sim.service import MAX_DELAY_MS

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, _ref("Error"))


def _path_parameter(name: str, description: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}, "example": example}


def _form(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {_FORM: {"schema": schema}}}


_CARRIER = _path_parameter("Name", "A relay carrier's name in the carriers file (type = \"twilio\")", "upstream")
_SIGNED = [{"name": "X-Twilio-Signature", "in": "header", "required": True, "schema": {"type": "string"},
            "description": "The upstream's signature, keyed with the carrier's auth_token, of LOFT_PUBLIC_URL + "
                           "path + query and the form's parameters"},
           {"name": "I-Twilio-Idempotency-Token", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The same on a retry of the same webhook: taken once"}]
_UNSIGNED = {"400": _error("A parameter the webhook must have is missing (20001)"),
             "403": _error("No signature, or not the upstream's (20003): nothing stored"),
             "404": _error("The carriers file has no relay of that name (20404)")}
_HANDSET = _path_parameter("PhoneNumber", "The handset's number, E.164 (write the + as %2B)", "+15558675310")
_BOT_FORM = _form({"FriendlyName": {"type": "string", "maxLength": 255},
                   "MessagingEndpoint": {"type": "string", "format": "uri",
                                         "example": "http://127.0.0.1:3978/api/messages"},
                   "MicrosoftAppId": {"type": "string"}, "MicrosoftAppPassword": {"type": "string"},
                   "MicrosoftAppTenantId": {"type": "string"}})
_BOT_SMS_ANSWERS = {"200": {"description": "Taken (or a retry of one taken): no reply by TwiML",
                            "content": {"text/xml": {"schema": {"type": "string"}}}},
                    "403": _error("No signature, or not the account's (20003): nothing forwarded"),
                    "404": _error("No such bot connection (20404)")}
_CONNECTOR = "/loft/botframework/{BotSid}/{Key}/v3/conversations"
_CONVERSATION = ("Conversation", "\"{phone}|{number}\", URL-encoded", "%2B15558675310%7C%2B14155550100")
_CONNECTOR_OPERATIONS = [
    ("", "botCreateConversation", "201", "CreateConversation: the bot's number (bot.id) with one phone (members)",
     []),
    ("/{Conversation}/activities", "botSendToConversation", "200",
     "SendToConversation: a message Activity becomes an SMS or MMS from the number to the phone", [_CONVERSATION]),
    ("/{Conversation}/activities/{ActivityId}", "botReplyToActivity", "200",
     "ReplyToActivity: as SendToConversation", [_CONVERSATION, ("ActivityId", "The Activity replied to", "SM0")]),
]
_AUTHENTICATED: list[dict[str, list[str]]] = [{"accountSidAuthToken": []}]
_REFUSED = {"401": _error("No or wrong credentials (20003)"), "404": _error("Not found (20404)")}

_SCHEMAS: dict[str, Any] = {
    "Bot": {
        "type": "object", "description": "A Bot Framework bot connected to SMS (docs/bots.md); its password is never "
                                        "returned",
        "required": ["sid", "account_sid", "friendly_name", "messaging_endpoint", "sms_url", "service_url", "url"],
        "properties": {"sid": {"type": "string", "pattern": "^BT[0-9a-f]{32}$"}, "account_sid": {"type": "string"},
                       "friendly_name": {"type": "string"}, "messaging_endpoint": {"type": "string", "format": "uri"},
                       "microsoft_app_id": {"type": ["string", "null"]},
                       "microsoft_app_tenant_id": {"type": ["string", "null"]},
                       "sms_url": {"type": "string", "format": "uri",
                                   "description": "The SmsUrl to give a TwiML App or a number"},
                       "service_url": {"type": "string", "format": "uri",
                                       "description": "Loft's connector for this bot: the serviceUrl of the "
                                                      "Activities it receives, for conversations it starts"},
                       "date_created": {"type": "string", "format": "date-time"},
                       "date_updated": {"type": "string", "format": "date-time"},
                       "url": {"type": "string", "format": "uri"}},
    },
    "BotPage": {
        "type": "object", "required": ["bots", "meta"],
        "properties": {"bots": {"type": "array", "items": {"$ref": "#/components/schemas/Bot"}},
                       "meta": {"type": "object"}},
    },
    "ResourceResponse": {
        "type": "object", "required": ["id"], "description": "The Bot Framework's answer: the new Activity's id",
        "properties": {"id": {"type": "string"}, "activityId": {"type": "string"}},
    },
    "Error": {
        "type": "object", "description": "Twilio's error body",
        "required": ["code", "message", "more_info", "status"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                       "more_info": {"type": "string"}, "status": {"type": "integer"},
                       "detail": {"type": "string"}},
    },
    "Message": {
        "type": "object", "additionalProperties": True,
        "description": "Twilio's Message resource (2010-04-01), as the Messages API renders it",
        "properties": {"sid": {"type": "string"}, "account_sid": {"type": "string"},
                       "from": {"type": "string"}, "to": {"type": "string"}, "body": {"type": "string"},
                       "status": {"type": "string"}, "direction": {"type": "string"}},
    },
    "HandsetSettings": {
        "type": "object", "required": ["phone_number", "behavior", "receipt_delay_ms", "rcs"],
        "description": "How the handset's carrier answers the caller's sends (and its subaccounts')",
        "properties": {"phone_number": {"type": "string"}, "behavior": {"type": "string", "enum": list(BEHAVIORS)},
                       "receipt_delay_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS},
                       "rcs": {"type": "boolean", "description": "Whether the handset supports RCS"}},
    },
    "HandsetInbox": {
        "type": "object", "required": ["messages"],
        "properties": {"messages": {"type": "array", "description": "Newest first", "items": {
            "type": "object",
            "required": ["sid", "from", "to", "body", "media_urls", "channel", "content", "date_received"],
            "properties": {"sid": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
                           "body": {"type": "string"}, "media_urls": {"type": "array", "items": {"type": "string"}},
                           "channel": {"type": "string", "enum": ["sms", "mms", "rcs"]},
                           "content": {"type": ["object", "null"],
                                       "description": "RCS only: the rendered rich content (docs/simulator.md)"},
                           "date_received": {"type": "string", "format": "date-time"}}}}},
    },
    "Clock": {
        "type": "object", "required": ["now", "offset_seconds"],
        "description": "Loft's clock: the wall clock moved ahead by the simulator's advances (docs/simulator.md)",
        "properties": {"now": {"type": "string", "format": "date-time", "example": "2026-12-06T10:00:00Z"},
                       "offset_seconds": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET,
                                          "description": "How far it is ahead of the wall clock"}},
    },
    "WebhookLog": {
        "type": "object", "required": ["webhooks"],
        "properties": {"webhooks": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["status_callback", "inbound", "fallback", "redirect", "bot"]},
                "attempt": {"type": "integer"}, "url": {"type": "string"}, "method": {"type": "string"},
                "request_params": {"type": "object", "additionalProperties": {"type": "string"}},
                "idempotency_token": {"type": "string"}, "status_code": {"type": ["integer", "null"]},
                "latency_ms": {"type": "integer"}, "response_excerpt": {"type": "string"},
                "error_code": {"type": ["integer", "null"]}, "error_message": {"type": ["string", "null"]},
                "date_created": {"type": "string", "format": "date-time"}}}}},
    },
    "DeliveryLog": {
        "type": "object", "required": ["deliveries"],
        "properties": {"deliveries": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "carrier": {"type": "string"}, "reference": {"type": ["string", "null"]},
                "parts": {"type": "array", "items": {"type": "object", "properties": {
                    "reference": {"type": "string"},
                    "status": {"type": "string", "enum": ["sent", "delivered", "undelivered", "failed"]}}}},
                "status": {"type": "string", "enum": ["sent", "delivered", "undelivered", "failed", "rejected"]},
                "error_code": {"type": ["integer", "null"]}, "detail": {"type": "object"},
                "date_created": {"type": "string", "format": "date-time"},
                "date_updated": {"type": "string", "format": "date-time"}}}}},
    },
    "Health": {
        "type": "object", "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]},
                       "database": {"type": "string", "enum": ["ok", "unavailable"]}},
    },
}

_PATHS: dict[str, Any] = {
    "/sim/v1/Handsets/{PhoneNumber}/Messages": {
        "parameters": [_HANDSET],
        "post": {
            "operationId": "textFromHandset", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "The handset texts a number of the caller's accounts, or writes to (taps a button of) one of "
                       "their RCS senders: an inbound message, routed to its webhook",
            "requestBody": _form({"To": {"type": "string", "example": "+14155550123",
                                         "description": "A Loft number, or an RCS sender (rcs:<agent>)"},
                                  "Body": {"type": "string", "example": "hello bot"},
                                  "MediaUrl": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
                                  "ButtonPayload": {"type": "string", "description": "RCS tap: the action's id"},
                                  "ButtonText": {"type": "string", "description": "RCS tap: the button's title"}},
                                 ["To"]),
            "responses": {"201": _json("The inbound message", _ref("Message")),
                          "400": _error("A parameter Loft cannot use (21602 no body nor media, 21623 …; 63106 an "
                                        "RCS sender written to by a handset without Rcs=true)"),
                          **_REFUSED},
        },
        "get": {
            "operationId": "handsetInbox", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "What the handset received from the caller's accounts, newest first",
            "responses": {"200": _json("The inbox", _ref("HandsetInbox")), **_REFUSED},
        },
    },
    "/sim/v1/Handsets/{PhoneNumber}/Messages/{MessageSid}/Read": {
        "parameters": [_HANDSET, {"name": "MessageSid", "in": "path", "required": True,
                                  "schema": {"type": "string"}, "description": "An RCS message the handset received"}],
        "post": {
            "operationId": "readOnHandset", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "The handset reads an RCS message it received: delivered → read, announced to the message's "
                       "status callback (EventType=READ, ChannelPrefix=rcs)",
            "responses": {**_REFUSED, "200": _json("The message, read", _ref("Message")),
                          "400": _error("Not an RCS message, or not delivered (20001)"),
                          "404": _error("The handset received no such message from the caller's accounts (20404)")},
        },
    },
    "/sim/v1/Handsets/{PhoneNumber}": {
        "parameters": [_HANDSET],
        "post": {
            "operationId": "configureHandset", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "Set how the handset's carrier answers the caller's sends (only the parameters given change)",
            "requestBody": _form({"Behavior": {"type": "string", "enum": list(BEHAVIORS), "example": "unreachable"},
                                  "ReceiptDelayMs": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS},
                                  "Rcs": {"type": "boolean", "description": "Whether it supports RCS (default false)"}}),
            "responses": {"200": _json("The settings that now apply", _ref("HandsetSettings")),
                          "400": _error("A value out of range (20001)"), **_REFUSED},
        },
        "get": {
            "operationId": "fetchHandset", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "How the handset's carrier answers the caller's sends",
            "responses": {"200": _json("The settings that apply", _ref("HandsetSettings")), **_REFUSED},
        },
    },
    "/sim/v1/Clock": {
        "post": {
            "operationId": "advanceClock", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "Move Loft's clock ahead for every process of the deployment (never back): work that falls "
                       "due runs at once. The main account's auth token only",
            "requestBody": _form({"AdvanceSeconds": {"type": "integer", "minimum": 1, "maximum": MAX_ADVANCE,
                                                     "example": 3600}}, ["AdvanceSeconds"]),
            "responses": {"200": _json("The clock, moved (every process uses it once this answers)", _ref("Clock")),
                          "400": _error("AdvanceSeconds missing, not a whole number of seconds from 1 to ten "
                                        "years, or past a hundred years ahead in all (20001)"),
                          "401": _error("No or wrong credentials (20003)"),
                          "403": _error("Not the main account's auth token: a subaccount's, or an API key (20003)")},
        },
        "get": {
            "operationId": "readClock", "tags": ["Simulator"], "security": _AUTHENTICATED,
            "summary": "Loft's clock, and how far it is ahead of the wall clock (any account's credentials)",
            "responses": {"200": _json("The clock", _ref("Clock")), "401": _error("No or wrong credentials (20003)")},
        },
    },
    "/loft/v1/Accounts/{AccountSid}/Messages/{Sid}/Webhooks": {
        "parameters": [_path_parameter("AccountSid", "The message's account", "AC" + "0" * 32),
                       _path_parameter("Sid", "The message", "SM" + "0" * 32)],
        "get": {
            "operationId": "listWebhookAttempts", "tags": ["Webhooks"], "security": _AUTHENTICATED,
            "summary": "Every webhook attempt made for the message: status callbacks, inbound requests, fallbacks, "
                       "redirects, with their parameters, answers and error codes",
            "responses": {"200": _json("The attempts, oldest first", _ref("WebhookLog")),
                          "403": _error("The account is out of the credentials' reach (20003)"), **_REFUSED},
        },
    },
    "/loft/v1/Accounts/{AccountSid}/Messages/{Sid}/Deliveries": {
        "parameters": [_path_parameter("AccountSid", "The message's account", "AC" + "0" * 32),
                       _path_parameter("Sid", "The message", "SM" + "0" * 32)],
        "get": {
            "operationId": "listDeliveries", "tags": ["Carriers"], "security": _AUTHENTICATED,
            "summary": "The message's hand-offs to network carriers (SMPP, a Twilio relay): which carrier took it, "
                       "its references, and what its delivery reports said (none: the simulator took it)",
            "responses": {"200": _json("The hand-offs, oldest first", _ref("DeliveryLog")),
                          "403": _error("The account is out of the credentials' reach (20003)"), **_REFUSED},
        },
    },
    "/loft/v1/Accounts/{AccountSid}/Bots": {
        "parameters": [_path_parameter("AccountSid", "The bots' account", "AC" + "0" * 32)],
        "get": {
            "operationId": "listBots", "tags": ["Bots"], "security": _AUTHENTICATED,
            "summary": "The account's bot connections, oldest first",
            "responses": {"200": _json("A page of bots", _ref("BotPage")),
                          "403": _error("The account is out of the credentials' reach (20003)"), **_REFUSED},
        },
        "post": {
            "operationId": "createBot", "tags": ["Bots"], "security": _AUTHENTICATED,
            "summary": "Connect a Bot Framework bot: its sms_url is the SmsUrl to give a TwiML App or a number",
            "requestBody": _BOT_FORM,
            "responses": {"201": _json("The connection", _ref("Bot")),
                          "400": _error("MessagingEndpoint missing or not an http(s) URL, a value too long (20001)"),
                          "403": _error("Out of the credentials' reach, or the account is not active"), **_REFUSED},
        },
    },
    "/loft/v1/Accounts/{AccountSid}/Bots/{BotSid}": {
        "parameters": [_path_parameter("AccountSid", "The bot's account", "AC" + "0" * 32),
                       _path_parameter("BotSid", "The bot connection", "BT" + "0" * 32)],
        "get": {
            "operationId": "fetchBot", "tags": ["Bots"], "security": _AUTHENTICATED,
            "summary": "One bot connection",
            "responses": {"200": _json("The connection", _ref("Bot")),
                          "403": _error("The account is out of the credentials' reach (20003)"), **_REFUSED},
        },
        "post": {
            "operationId": "updateBot", "tags": ["Bots"], "security": _AUTHENTICATED,
            "summary": "Change a bot connection (only the parameters given change)",
            "requestBody": _BOT_FORM,
            "responses": {"200": _json("The connection", _ref("Bot")),
                          "400": _error("MessagingEndpoint not an http(s) URL, a value too long (20001)"),
                          "403": _error("Out of the credentials' reach, or the account is not active"), **_REFUSED},
        },
        "delete": {
            "operationId": "deleteBot", "tags": ["Bots"], "security": _AUTHENTICATED,
            "summary": "Disconnect the bot: its sms_url and connector answer 404 from then on",
            "responses": {"204": {"description": "Deleted"},
                          "403": _error("The account is out of the credentials' reach (20003)"), **_REFUSED},
        },
    },
    "/loft/v1/Accounts/{AccountSid}/Bots/{BotSid}/Sms": {
        "parameters": [_path_parameter("AccountSid", "The bot's account", "AC" + "0" * 32),
                       _path_parameter("BotSid", "The bot connection", "BT" + "0" * 32),
                       {**_SIGNED[0], "description": "Signed with the bot's account's auth token, as Loft signs "
                                                     "inbound-message webhooks"}],
        "post": {
            "operationId": "botSms", "tags": ["Bots"], "security": [],
            "summary": "The bot's sms_url: an inbound-message webhook, answered with an empty <Response/>; the "
                       "message Activity is posted to the bot after",
            "requestBody": _form({"From": {"type": "string"}, "To": {"type": "string"}, "Body": {"type": "string"},
                                  "MessageSid": {"type": "string"}}, ["From", "To"]),
            "responses": _BOT_SMS_ANSWERS,
        },
        "get": {
            "operationId": "botSmsGet", "tags": ["Bots"], "security": [],
            "summary": "The bot's sms_url for an SmsMethod of GET: the parameters in the query, signed with the URL",
            "responses": _BOT_SMS_ANSWERS,
        },
    },
    **{_CONNECTOR + tail: {
        "parameters": [_path_parameter("BotSid", "The bot connection", "BT" + "0" * 32),
                       _path_parameter("Key", "The bot's connector key (part of its Activities' serviceUrl)", "k"),
                       *[_path_parameter(name, text, example) for name, text, example in parameters]],
        "post": {
            "operationId": operation, "tags": ["Bots"], "security": [],
            "summary": summary,
            "requestBody": {"required": True, "content": {_JSON: {"schema": {"type": "object"}}}},
            "responses": {status: _json("The Bot Framework's ResourceResponse", _ref("ResourceResponse")),
                          "400": _error("Not an SMS conversation, or the send refused as POST Messages refuses it "
                                        "(Twilio's code)"),
                          "404": _error("No such bot, or the wrong key (20404)")},
        },
    } for tail, operation, status, summary, parameters in _CONNECTOR_OPERATIONS},
    "/loft/botframework/v1/.well-known/openidconfiguration": {"get": {
        "operationId": "botOpenIdConfiguration", "tags": ["Bots"], "security": [],
        "summary": "Loft's OpenID metadata for bots with an app id (their TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL)",
        "responses": {"200": _json("issuer and jwks_uri", {"type": "object", "required": ["issuer", "jwks_uri"]})},
    }},
    "/loft/botframework/v1/.well-known/keys": {"get": {
        "operationId": "botSigningKeys", "tags": ["Bots"], "security": [],
        "summary": "The JWKS of the keys Loft signs Activities with (RS256, endorsed for sms)",
        "responses": {"200": _json("The keys", {"type": "object", "required": ["keys"]})},
    }},
    "/loft/b2c_botframework/v2.0/.well-known/openid-configuration": {"get": {
        "operationId": "botAuthorityConfiguration", "tags": ["Bots"], "security": [],
        "summary": "The discovery document of the bots' token authority (their TO_CHANNEL_FROM_BOT_LOGIN_URL), "
                   "as MSAL reads it",
        "responses": {"200": _json("Its endpoints", {"type": "object", "required": ["token_endpoint"]})},
    }},
    "/loft/b2c_botframework/oauth2/v2.0/token": {"post": {
        "operationId": "botToken", "tags": ["Bots"], "security": [],
        "summary": "OAuth 2 client credentials: a token for a bot connection's app id and password",
        "requestBody": _form({"grant_type": {"type": "string", "const": "client_credentials"},
                              "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                              "scope": {"type": "string"}}, ["grant_type", "client_id", "client_secret"]),
        "responses": {"200": _json("The token", {"type": "object", "required": ["access_token", "token_type",
                                                                                 "expires_in"]}),
                      "401": _json("Not a bot's app id and password", {
                          "type": "object", "required": ["error"], "properties": {"error": {"const": "invalid_client"}}})},
    }},
    "/carriers/{Name}/inbound": {
        "parameters": [_CARRIER, *_SIGNED],
        "post": {
            "operationId": "relayInbound", "tags": ["Carriers"], "security": [],
            "summary": "The upstream's inbound-message webhook (the SmsUrl of Loft's numbers there): stored for the "
                       "number's account here, whose own webhook follows; answered with an empty <Response/>",
            "requestBody": _form({"From": {"type": "string"}, "To": {"type": "string"}, "Body": {"type": "string"},
                                  "MessageSid": {"type": "string"}, "NumMedia": {"type": "string"},
                                  "MediaUrl0": {"type": "string"}}, ["From", "To"]),
            "responses": {"200": {"description": "Taken (or a retry of one taken): no reply upstream",
                                  "content": {"text/xml": {"schema": {"type": "string"}}}},
                          **_UNSIGNED},
        },
    },
    "/carriers/{Name}/status": {
        "parameters": [_CARRIER, *_SIGNED],
        "post": {
            "operationId": "relayStatusCallback", "tags": ["Carriers"], "security": [],
            "summary": "A status callback of a message relayed upstream: delivered, undelivered, failed and sent "
                       "are its delivery reports, the statuses before them are ignored",
            "requestBody": _form({"MessageSid": {"type": "string"}, "MessageStatus": {"type": "string"},
                                  "ErrorCode": {"type": "string"}}, ["MessageSid", "MessageStatus"]),
            "responses": {"204": {"description": "Taken, ignored, or a retry of one taken"}, **_UNSIGNED},
        },
    },
    "/": {"get": {
        "operationId": "home", "tags": ["Operations"], "security": [],
        "summary": "Where a browser pointed at Loft goes: the web console",
        "responses": {"302": {"description": "To the web console",
                              "headers": {"Location": {"schema": {"type": "string", "const": "/console"}}}}},
    }},
    "/healthz": {"get": {
        "operationId": "liveness", "tags": ["Operations"], "security": [],
        "summary": "Liveness: the process answers, whatever its database does",
        "responses": {"200": _json("Alive", _ref("Health"))},
    }},
    "/readyz": {"get": {
        "operationId": "readiness", "tags": ["Operations"], "security": [],
        "summary": "Readiness: the database answers a check within 2 s",
        "responses": {"200": _json("Ready", _ref("Health")),
                      "503": _json("The database does not answer (the reason is in the log)", _ref("Health"))},
    }},
    "/metrics": {"get": {
        "operationId": "metrics", "tags": ["Operations"], "security": [{}, {"metricsToken": []}],
        "summary": "Prometheus' text exposition format (LOFT_METRICS: open, a bearer token, or off: 404)",
        "responses": {"200": {"description": "The metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "401": _error("LOFT_METRICS is a token and the request did not carry it (20003)"),
                      "404": _error("LOFT_METRICS is off (20404)")},
    }},
    "/openapi.json": {"get": {
        "operationId": "openapi", "tags": ["Operations"], "security": [],
        "summary": "This document",
        "responses": {"200": _json("OpenAPI 3.1", {"type": "object"})},
    }},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Loft's own endpoints",
        "version": __version__,
        "description": "The simulator, the webhook log, the relay carriers' webhooks, health and metrics of a Loft "
                       "server. The Twilio-compatible "
                       "API (/2010-04-01) is described by Twilio's own OpenAPI documents (twilio-oai).",
        "license": {"name": "MIT", "identifier": "MIT"},
    },
    "servers": [{"url": "/"}],
    "security": _AUTHENTICATED,
    "tags": [{"name": "Simulator", "description": "Virtual handsets (docs/simulator.md)"},
             {"name": "Webhooks", "description": "The webhook attempt log"},
             {"name": "Carriers", "description": "What a relayed upstream sends back, signed (docs/carriers.md)"},
             {"name": "Bots", "description": "Bot Framework bots on SMS (docs/bots.md)"},
             {"name": "Operations", "description": "Health, readiness, metrics (docs/deployment.md)"}],
    "paths": _PATHS,
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "accountSidAuthToken": {"type": "http", "scheme": "basic",
                                    "description": "Account SID and auth token (or API key SID and secret), as for "
                                                   "Twilio's API; a parent's credentials reach its subaccounts"},
            "metricsToken": {"type": "http", "scheme": "bearer", "description": "LOFT_METRICS, when it is a token"},
        },
    },
}


async def document(request: Request) -> Response:
    return render.json_response(DOCUMENT, 200)
