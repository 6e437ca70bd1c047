"""``/loft/v1/Accounts/{AccountSid}/Bots``: bot connections; their ``sms_url``; and the connector they call.

- ``POST|GET /loft/v1/Accounts/{AccountSid}/Bots``, ``GET|POST|DELETE …/Bots/{Sid}``: the connections, JSON
  (the v1 domains' shape), for the account's own credentials.
- ``POST …/Bots/{Sid}/Sms``: the ``sms_url``. Only a request signed (``X-Twilio-Signature``) with the owning
  account's auth token is taken (403 otherwise, nothing recorded); it is answered at once with an empty
  ``<Response/>``, and the Activity is posted to the bot by a job recorded in the same transaction
  (:mod:`loft.bots.tasks`).
- ``POST /loft/botframework/{BotSid}/{Key}/v3/conversations[/{id}/activities[/{replyToId}]]``: the Bot Framework
  Connector API the bot calls back on its Activities' ``serviceUrl``. Each ``message`` Activity becomes an
  ordinary outbound message of the account, from the conversation's number to its phone, through the same
  checks and path as ``POST Messages``; other Activity types (``typing`` …) are accepted and ignored. The answer
  is the Bot Framework's ``{"id": …}`` (the message's sid).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.accounts import auth
from loft.accounts.service import Account
from loft.bots import activities, identity, service, tasks
from loft.carriers import service as retries
from loft.carriers.endpoints import EMPTY_TWIML, IDEMPOTENCY_HEADER
from loft.delivery import outbox
from loft.errors import InvalidParameter, NotFound, PermissionDenied, TwilioApiError
from loft.kit import crypto, endpoint, forms, paging, render, sids, v1
from loft.kit.endpoint import Answer, Call
from loft.kit.forms import Form
from loft.messages import service as messages
from loft.webhooks import signing

_BASE = "/loft/v1/Accounts/{account_sid}/Bots"
_CONNECTOR = "/loft/botframework/{bot_sid}/{key}/v3/conversations"


async def create_bot(call: Call) -> Answer:
    row = await service.create(call.conn, call.loft.box, call.account, call.params)
    return v1.Resource(service.render(row, call.origin, call.loft.box), status=201)


async def list_bots(call: Call) -> Answer:
    request = paging.parse(call.params)
    rows, more = await service.page(call.conn, call.account, request)
    records = [service.render(row, call.origin, call.loft.box) for row in rows]
    return v1.page(key="bots", records=records, origin=call.origin, path=f"/loft/v1/Accounts/{call.account.sid}/Bots", filters=[], request=request, has_next=more)


async def fetch_bot(call: Call) -> Answer:
    row = await service.get(call.conn, call.account.sid, call.path_params["sid"])
    return v1.Resource(service.render(row, call.origin, call.loft.box))


async def update_bot(call: Call) -> Answer:
    row = await service.configure(call.conn, call.loft.box, call.account, call.path_params["sid"], call.params)
    return v1.Resource(service.render(row, call.origin, call.loft.box))


async def delete_bot(call: Call) -> Answer:
    await service.remove(call.conn, call.account, call.path_params["sid"])
    return render.NoContent()


def _signed_urls(request: Request, public_url: str | None, base_url: str) -> list[str]:
    """The URLs the request may have been signed for: as its client reached Loft, and as Loft names itself."""
    query = request.scope["query_string"].decode("latin-1")
    tail = request.url.path + (f"?{query}" if query else "")
    origins = dict.fromkeys((v1.origin(request, public_url), str(request.base_url).rstrip("/"), base_url))
    return [origin + tail for origin in origins]


async def take_sms(request: Request) -> Response:
    """A bot's ``sms_url``: verify, record the Activity's job, answer an empty ``<Response/>``.

    ``GET`` (an ``SmsMethod`` of GET) carries the parameters in the query, signed as part of the URL. A retry of a
    request taken already (the same ``I-Twilio-Idempotency-Token``) is answered alike and records nothing."""
    loft = context.of(request)
    account = await auth.lookup(loft, request.path_params["account_sid"])
    if request.method == "GET":
        params, signed = list(request.query_params.multi_items()), []
    else:
        params = signed = (await forms.read(request)).multi_items()
    given = request.headers.get(signing.HEADER) or ""
    urls = _signed_urls(request, loft.settings.public_url, loft.settings.base_url)
    if account is None or not given or not any(
            crypto.same(signing.signature(account.auth_token, url, signed), given) for url in urls):
        raise PermissionDenied(f"The {signing.HEADER} header is {'wrong' if given else 'missing'}: this request "
                               "was not signed with the bot's account's auth token")
    sid = request.path_params["sid"]
    async with loft.db.write() as conn:
        await service.get(conn, account.sid, sid)
        if await retries.first_time(conn, f"bot:{sid}", request.headers.get(IDEMPOTENCY_HEADER)):
            # The tries are logged with the message, if it is the account's (never in another account's log).
            message = await messages.load(conn, dict(params).get("MessageSid", ""))
            subject = message.sid if message is not None and message.account_sid == account.sid else sids.new("SM")
            payload = {"bot": sid, "params": [list(pair) for pair in params],
                       "service_url": service.connector_url(_origin(request), loft.box, sid)}
            await outbox.enqueue(conn, tasks.BOT, subject_sid=subject, account_sid=account.sid, payload=payload)
    loft.wake()
    return Response(EMPTY_TWIML, media_type="text/xml")


async def _connector_caller(request: Request) -> tuple[Account, Mapping[str, Any]]:
    """The bot's account, once the connector key is the bot's, and the JSON body."""
    loft = context.of(request)
    sid, key = request.path_params["bot_sid"], request.path_params["key"]
    if not service.is_connector_key(loft.box, sid, key):
        raise NotFound()
    async with loft.db.read() as conn:
        bot = await service.find(conn, sid)
    account = await auth.lookup(loft, bot.account_sid) if bot is not None else None
    if bot is None or account is None:
        raise NotFound()
    if bot.microsoft_app_id and identity.app_id_of(loft, request.headers.get("authorization")) != bot.microsoft_app_id:
        raise TwilioApiError(20003, "This bot has an app id: its calls need a token of Loft's token endpoint for "
                                    "it (docs/bots.md)", 401)
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidParameter(20001, "The body must be a JSON object (a Bot Framework Activity)")
    return account, body


async def _send(request: Request, account: Account, activity: Mapping[str, Any], conversation: str) -> str:
    """Send a ``message`` Activity as an outbound message; its id (the message's sid, or a new id for an
    Activity that sends nothing)."""
    if activity.get("type", "message") != "message":
        return "ignored-" + secrets.token_hex(8)
    phone, number = activities.parties(conversation)
    loft = context.of(request)
    form = Form(activities.message_form(activity, number=number, phone=phone))
    new = messages.check(account, form)
    row = (await loft.db.submit_item(messages.create_many, messages.Draft(account, new, loft.settings))).message
    loft.wake()
    sid: str = row.sid
    return sid


async def reply_to_activity(request: Request) -> Response:
    account, activity = await _connector_caller(request)
    sid = await _send(request, account, activity, request.path_params["conversation"])
    return render.json_response({"id": sid}, 200)


async def send_to_conversation(request: Request) -> Response:
    return await reply_to_activity(request)


async def create_conversation(request: Request) -> Response:
    """``POST /v3/conversations``: a conversation of the bot's number (``bot.id``) with one phone (``members``)."""
    account, parameters = await _connector_caller(request)
    bot, members = parameters.get("bot"), parameters.get("members")
    number = bot.get("id") if isinstance(bot, Mapping) else None
    phones = [member.get("id") for member in members or [] if isinstance(member, Mapping)]
    if not isinstance(number, str) or len(phones) != 1 or not isinstance(phones[0], str):
        raise InvalidParameter(20001, "An SMS conversation has the bot's number as bot.id and one phone in members")
    conversation = activities.conversation_id(phones[0], number)
    answer: dict[str, Any] = {"id": conversation}
    activity = parameters.get("activity")
    if isinstance(activity, Mapping):
        answer["activityId"] = await _send(request, account, activity, conversation)
    return render.json_response(answer, 201)


def _origin(request: Request) -> str:
    return v1.origin(request, context.of(request).settings.public_url)


async def openid_configuration(request: Request) -> Response:
    return render.json_response(identity.openid_configuration(_origin(request)), 200)


async def signing_keys(request: Request) -> Response:
    return render.json_response(await identity.keys(context.of(request)), 200)


async def authority_configuration(request: Request) -> Response:
    return render.json_response(identity.authority_configuration(_origin(request)), 200)


async def token(request: Request) -> Response:
    """OAuth 2 client credentials for a bot connection's app id and password (as Azure AD answers MSAL)."""
    issued = await identity.issue(context.of(request), await forms.read(request), _origin(request))
    if issued is None:
        return render.json_response({"error": "invalid_client",
                                     "error_description": "No bot connection has this app id and password"}, 401)
    return render.json_response(issued, 200)


routes = [
    endpoint.route(_BASE, list_bots),
    endpoint.route(_BASE, create_bot, method="POST"),
    endpoint.route(_BASE + "/{sid}", fetch_bot),
    endpoint.route(_BASE + "/{sid}", update_bot, method="POST"),
    endpoint.route(_BASE + "/{sid}", delete_bot, method="DELETE"),
    Route(_BASE + "/{sid}/Sms", take_sms, methods=["POST", "GET"]),
    Route(_CONNECTOR, create_conversation, methods=["POST"]),
    Route(_CONNECTOR + "/{conversation}/activities", send_to_conversation, methods=["POST"]),
    Route(_CONNECTOR + "/{conversation}/activities/{reply_to}", reply_to_activity, methods=["POST"]),
    Route("/loft/botframework/v1/.well-known/openidconfiguration", openid_configuration, methods=["GET"]),
    Route("/loft/botframework/v1/.well-known/keys", signing_keys, methods=["GET"]),
    Route(identity.AUTHORITY_PATH + "/v2.0/.well-known/openid-configuration", authority_configuration,
          methods=["GET"]),
    Route(identity.AUTHORITY_PATH + "/oauth2/v2.0/token", token, methods=["POST"]),
]
