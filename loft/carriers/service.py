"""A relayed upstream's webhooks: verified with its auth token, taken once each, turned into the intake's calls.

- **Verified.** ``X-Twilio-Signature`` must be the HMAC-SHA1, keyed with the carrier's ``auth_token`` (the
  upstream account's; an API key does not sign webhooks), of the URL the upstream requested, rebuilt from
  ``LOFT_PUBLIC_URL`` and the request's path and query, followed by the form's parameters
  (:mod:`loft.webhooks.signing`). As twilio-python's validator does, the URL is tried with and without its
  scheme's default port. Anything else is refused (403) before anything is written.
- **Taken once.** The upstream sends a webhook again, with the same ``I-Twilio-Idempotency-Token``, when it got
  no answer in time; the token is recorded in the transaction that takes the webhook (``carrier_webhooks``), and
  a token seen already is answered as before without being taken again. Tokens are kept :data:`KEPT` (a retry
  comes within minutes), deleted by the requests that come after.
- **Status callbacks** become delivery reports (``MessageSid`` is the upstream's sid, the carrier reference
  its hand-off recorded): ``delivered``, ``undelivered``, ``failed`` and ``sent``; the statuses before those
  (``queued``, ``sending``, ``accepted`` …) change nothing here and are ignored. A ``failed`` with 21610 records the
  opt-out too.
- **Inbound messages** are stored for the account that owns the number (:func:`loft.messages.intake.take_incoming`),
  whose own webhook then fires, signed with that account's token. Opt-out keywords are recorded; the upstream
  answered them already, so Loft sends no auto-reply of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, get_args
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, select

from loft.context import Loft
from loft.db import upsert
from loft.db.engine import Conn
from loft.db.tables import carrier_references, carrier_webhooks, delivery_attempts, messages
from loft.delivery.carriers.base import Incoming, Outcome, Report
from loft.delivery.carriers.plan import TwilioSettings
from loft.errors import InvalidParameter, NotFound, PermissionDenied
from loft.kit import dates, phone
from loft.messages import optout
from loft.webhooks import signing

#: How long a webhook's idempotency token is remembered.
KEPT = timedelta(days=1)
#: Seconds between two deletions of forgotten tokens, in one process.
PRUNE_EVERY = 60.0
#: The upstream's statuses that are a delivery report; the others are on the way to one.
REPORTED: frozenset[str] = frozenset(get_args(Outcome))
OPTED_OUT = 21610
MAX_MEDIA = 10

_pruned_at = 0.0


def relay(loft: Loft, name: str) -> TwilioSettings:
    """The settings of the relay carrier ``name`` (404: this deployment has no relay of that name)."""
    settings = loft.carriers.plan.relays().get(name)
    if settings is None:
        raise NotFound()
    return settings


def _spellings(url: str) -> tuple[str, ...]:
    """``url``, and the same with its scheme's default port written out or left out (twilio-python's validator
    accepts either)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.port not in (None, default):
        return (url,)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return tuple(dict.fromkeys((url, *(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
                                        for netloc in (host, f"{host}:{default}")))))


def signed_url(base_url: str, path: str, query: str) -> str:
    """The URL the upstream requested, as Loft's public URL names it."""
    return f"{base_url}{path}" + (f"?{query}" if query else "")


def verify(settings: TwilioSettings, url: str, params: Sequence[tuple[str, str]], given: str | None) -> None:
    """Refuse (403) a request whose ``X-Twilio-Signature`` is missing or not the upstream's for ``url``."""
    if given:
        token = settings.auth_token.get_secret_value()
        for candidate in _spellings(url):
            expected = signing.signature(token, candidate, params)
            if hmac.compare_digest(expected.encode(), given.encode()):
                return
    raise PermissionDenied(f"The {signing.HEADER} header is {'wrong' if given else 'missing'}: this request was "
                           f"not signed with the upstream's auth token for {url}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def first_time(conn: Conn, carrier: str, token: str | None) -> bool:
    """Record the webhook's idempotency token; False if it was recorded already (a retry: take nothing). A
    webhook without one is always taken."""
    global _pruned_at
    if not token:
        return True
    moment = dates.real_now()  # the upstream retries by the wall clock, whatever the simulator's clock says
    if time.monotonic() - _pruned_at > PRUNE_EVERY:
        _pruned_at = time.monotonic()
        await conn.execute(delete(carrier_webhooks).where(carrier_webhooks.c.date_received < moment - KEPT))
    return await upsert.insert_ignore(conn, carrier_webhooks, carrier=carrier, token_digest=_digest(token),
                                      date_received=moment)


def _code(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


def report_of(carrier: str, form: Any) -> Report | None:
    """The delivery report a status callback makes (None: a status on the way, which changes nothing)."""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if status not in REPORTED:
        return None
    reference = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not reference or len(reference) > 128:
        raise InvalidParameter(20001, "A status callback names its message in 'MessageSid'")
    error_code = _code(form.get("ErrorCode"))
    detail: dict[str, Any] = {"status": status}
    if form.get("ErrorCode"):
        detail["ErrorCode"] = str(form.get("ErrorCode"))[:32]
    return Report(carrier=carrier, reference=reference, outcome=status,  # type: ignore[arg-type]
                  error_code=error_code if status != "delivered" else None, detail=detail)


def incoming_of(carrier: str, form: Any) -> Incoming:
    """The mobile-originated message an inbound webhook carries."""
    sender = (form.get("From") or "").strip()
    to = (form.get("To") or "").strip()
    if not sender or not to:
        raise InvalidParameter(20001, "An inbound message names its 'From' and 'To'")
    count = _code(form.get("NumMedia")) or 0
    media = tuple(url for url in (str(form.get(f"MediaUrl{index}") or "").strip()
                                  for index in range(min(count, MAX_MEDIA))) if url)
    reference = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()[:128] or None
    return Incoming(carrier=carrier, from_=phone.e164(sender) or sender, to=phone.e164(to) or to,
                    body=str(form.get("Body") or ""), media_urls=media, reference=reference, keywords_answered=True)


async def opted_out_by(conn: Conn, report: Report) -> None:
    """A relayed message failed upstream with 21610: its recipient unsubscribed from its sender, recorded here."""
    found = (await conn.execute(
        select(messages.c.from_addr, messages.c.to_addr, messages.c.account_sid)
        .select_from(carrier_references.join(delivery_attempts, delivery_attempts.c.id == carrier_references.c.attempt_id)
                     .join(messages, messages.c.sid == delivery_attempts.c.message_sid))
        .where(carrier_references.c.carrier == report.carrier, carrier_references.c.reference == report.reference)
    )).first()
    if found is not None:
        await optout.stopped(conn, sender=found.from_addr, recipient=found.to_addr, account_sid=found.account_sid)
