"""``/carriers/{name}/…``: where a relay carrier's upstream (``type = "twilio"`` in the carriers file) reaches Loft.

- ``POST /carriers/{name}/inbound``: the upstream's inbound-message webhook, for the numbers Loft owns there
  (their ``SmsUrl`` upstream is ``{LOFT_PUBLIC_URL}/carriers/{name}/inbound``). Stored for the account that owns
  the number here, whose own webhook follows; answered with an empty ``<Response/>`` so the upstream sends nothing.
- ``POST /carriers/{name}/status``: the status callbacks of the messages relayed through it (Loft asks for them
  with every message it relays). Answered 204.

Every API process serves them (they need the carriers file, not the carrier's process). Both are verified and
taken once (:mod:`loft.carriers.service`): a bad or missing ``X-Twilio-Signature`` is 403 with nothing stored; a
name the carriers file has no relay of is 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loft import context
from loft.carriers import service
from loft.context import Loft
from loft.delivery.carriers.plan import TwilioSettings
from loft.kit import forms
from loft.kit.forms import Form
from loft.messages import intake
from loft.webhooks import signing

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
#: What an inbound webhook is answered: no reply (the tenant's own webhook answers, through Loft).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def _verified(request: Request) -> tuple[Loft, str, TwilioSettings, Form]:
    """The relay the request is for and its form, once its signature is the upstream's."""
    loft = context.of(request)
    name = request.path_params["name"]
    settings = service.relay(loft, name)
    form = await forms.read(request)
    url = service.signed_url(loft.settings.base_url, request.url.path, request.scope["query_string"].decode("latin-1"))
    service.verify(settings, url, form.multi_items(), request.headers.get(signing.HEADER))
    return loft, name, settings, form


async def status_callback(request: Request) -> Response:
    loft, name, _, form = await _verified(request)
    report = service.report_of(name, form)
    if report is not None:
        async with loft.db.write() as conn:
            if await service.first_time(conn, name, request.headers.get(IDEMPOTENCY_HEADER)):
                await intake.take_report(conn, report)
                if report.outcome != "delivered" and report.error_code == service.OPTED_OUT:
                    await service.opted_out_by(conn, report)
        loft.wake()
    return Response(status_code=204)


async def inbound_message(request: Request) -> Response:
    loft, name, _, form = await _verified(request)
    incoming = service.incoming_of(name, form)
    async with loft.db.write() as conn:
        if await service.first_time(conn, name, request.headers.get(IDEMPOTENCY_HEADER)):
            await intake.take_incoming(conn, loft.settings, incoming)
    loft.wake()
    return Response(EMPTY_TWIML, media_type="text/xml")


routes = [
    Route("/carriers/{name}/inbound", inbound_message, methods=["POST"]),
    Route("/carriers/{name}/status", status_callback, methods=["POST"]),
]
