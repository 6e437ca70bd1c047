"""The Twilio relay carrier: messages handed to an upstream that speaks Twilio's Messages API (Twilio itself,
or another Loft), sent from the same number, with a status callback back to this Loft.

Each hand-off is one ``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` (Basic auth with the
account's auth token, or with its API key when the carriers file gives one) with the message's ``To``, ``From``,
``Body`` and the tenant's own ``MediaUrl``s, and ``StatusCallback = {LOFT_PUBLIC_URL}/carriers/{name}/status``.
The upstream's answer (:func:`outcome`):

- 2xx with the upstream's message ``sid``: :class:`Accepted` with that sid, which its status callbacks name;
- 429 or code 20429, 5xx: :class:`Deferred` (after ``Retry-After`` when the upstream gives one);
- no connection, no answer within ``request_seconds``, 401 (the relay's credentials refused), a redirect (``base_url``
  is wrong): :class:`Unreachable`, a :class:`Deferred` that marks the carrier down; hand-offs are then deferred
  without a try until the next one is due (after 1 s, 2 s, 4 s … 15 s);
- 21610 (the recipient opted out upstream): :class:`Rejected` with 21610, and the opt-out recorded here too;
- another answer with one of Twilio's message error codes (21xxx, 30xxx, 63xxx: 21211, 21612, 21408 …):
  :class:`Rejected` with the upstream's code;
- any other answer: :class:`Rejected` with 30008, what the upstream said kept with the attempt.

A deferred message waits ``queued`` and spends none of its retries (:mod:`loft.delivery.handoff`).
A timeout after the request left is deferred too: the upstream may have taken the message, and it is then
sent twice (Twilio's Messages API has no idempotency key). That is the at-least-once of
:mod:`loft.delivery.handoff`, with one more window; docs/carriers.md.

The upstream is an operator's choice, not a tenant's: its client is this carrier's own (no outbound guard), it
follows no redirect, and every request is bounded by ``request_seconds``. No log line holds a credential.
Status callbacks and inbound messages come back over HTTP to the API processes (:mod:`loft.carriers`), not to
the process that runs this carrier.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select

from loft.db.tables import message_media
from loft.delivery.carriers.base import Accepted, Deferred, Intake, Outgoing, Rejected
from loft.delivery.carriers.plan import TwilioSettings
from loft.messages import optout

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.carriers.relay")

#: A message that failed for a reason Twilio gives no better code for.
UNKNOWN_ERROR = 30008
OPTED_OUT = 21610
#: Seconds to wait after a refusal that gives no ``Retry-After``, and at most whatever it gives.
DEFAULT_RETRY = 1.0
MAX_RETRY = 600.0
#: Seconds between tries while the upstream cannot be reached (doubling from the first).
UNREACHABLE_FIRST, UNREACHABLE_MAX = 1.0, 15.0
USER_AGENT = "loft-relay/1"
_SID = re.compile(r"^[A-Za-z]{2}[0-9A-Za-z]{1,126}$")


def is_message_error(code: int | None) -> bool:
    """Whether ``code`` is one of Twilio's errors about a message (21xxx, 30xxx, 63xxx), which a failed message
    may carry as its ``error_code``; the others are about the request or the account."""
    return code is not None and (21000 <= code < 22000 or 30000 <= code < 31000 or 63000 <= code < 64000)


def retry_after(response: httpx.Response, default: float = DEFAULT_RETRY) -> float:
    """Seconds the upstream asks to wait (``Retry-After``: seconds or an HTTP date), within reason."""
    value = response.headers.get("retry-after", "").strip()
    seconds = default
    if value.isdigit():
        seconds = float(value)
    elif value:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            seconds = (moment - datetime.now(timezone.utc)).total_seconds()
    return min(max(seconds, 0.1), MAX_RETRY)


def _error_of(response: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error code and message in an error answer (None, '' when it is not Twilio's error body)."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("code")
    message = body.get("message")
    return (code if isinstance(code, int) and not isinstance(code, bool) else None,
            message[:500] if isinstance(message, str) else "")


class Unreachable(Deferred):
    """The upstream could not be reached (no connection, a timeout, its credentials refused)."""


def outcome(response: httpx.Response) -> Accepted:
    """The upstream's answer to a create, as the delivery boundary wants it: :class:`Accepted`, or raised
    :class:`Deferred` / :class:`Rejected` (see the module's table)."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            body = response.json()
        except ValueError:
            body = None
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not _SID.match(sid):
            raise Rejected(f"the upstream answered {status} without a message sid", error_code=UNKNOWN_ERROR,
                           detail={"upstream_status": status})
        assert isinstance(body, dict)
        return Accepted(references=(sid,), detail={"upstream_sid": sid, "upstream_status": str(body.get("status"))})
    code, message = _error_of(response)
    said = {"upstream_status": status, "upstream_code": code, "upstream_message": message}
    if status == 429 or code == 20429:
        raise Deferred(f"the upstream is throttling ({status}, {code})", retry_after=retry_after(response))
    if status >= 500:
        raise Deferred(f"the upstream failed ({status}, {code})", retry_after=retry_after(response, 5.0))
    if status == 401:
        raise Unreachable(f"the upstream refused the relay's credentials ({code}): check the carriers file",
                          retry_after=retry_after(response, UNREACHABLE_MAX))
    if 300 <= status < 400:
        raise Unreachable(f"the upstream answered {status} (a redirect, not followed): check base_url",
                          retry_after=UNREACHABLE_MAX)
    if is_message_error(code):
        assert code is not None
        raise Rejected(f"the upstream refused the message ({code}: {message})", error_code=code, detail=said)
    raise Rejected(f"the upstream answered {status} ({code}: {message})", error_code=UNKNOWN_ERROR, detail=said)


class Upstream:
    """The upstream's Messages API as a relay uses it: one create per hand-off, its answer translated."""

    def __init__(self, settings: TwilioSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.url = f"{settings.base_url}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        if settings.api_key_sid is not None and settings.api_key_secret is not None:
            self._auth = (settings.api_key_sid, settings.api_key_secret.get_secret_value())
        else:
            self._auth = (settings.account_sid, settings.auth_token.get_secret_value())
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def open(self) -> None:
        if self._client is None:
            # Environment proxies are not used: the upstream is named by the carriers file, and reached as named.
            self._client = httpx.AsyncClient(
                auth=self._auth, timeout=self.settings.request_seconds, follow_redirects=False, trust_env=False,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"}, transport=self._transport)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def create(self, message: Outgoing, *, status_callback: str) -> Accepted:
        """Send ``message`` through the upstream; :class:`Accepted`, or :class:`Deferred` / :class:`Rejected`."""
        self.open()
        assert self._client is not None
        form: dict[str, str | list[str]] = {"To": message.to, "From": message.from_}
        if message.body:
            form["Body"] = message.body
        if message.media_urls:
            form["MediaUrl"] = list(message.media_urls)
        form["StatusCallback"] = status_callback
        try:
            response = await self._client.post(self.url, data=form)
        except httpx.TimeoutException as exc:
            raise Unreachable(f"the upstream did not answer within {self.settings.request_seconds:g} s "
                              f"({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Unreachable(f"the upstream cannot be reached ({type(exc).__name__})") from exc
        return outcome(response)


class RelayCarrier:
    """A network carrier (:class:`loft.delivery.carriers.base.Carrier`) that relays to an upstream Twilio."""

    def __init__(self, name: str, settings: TwilioSettings, loft: Loft, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self.settings = settings
        self.loft = loft
        self.upstream = Upstream(settings, transport=transport)
        self.status_callback = status_callback_url(loft.settings.base_url, name)
        self._wait = 0.0  # seconds before the next try while unreachable (0: reachable)
        self._next_try = 0.0  # time.monotonic() before which hand-offs are deferred without a try
        self._marked = 0.0  # when the last failed try made the wait longer

    @property
    def up(self) -> bool:
        """HTTP needs no connection to be up: True unless the last try could not reach the upstream and the next
        one is not due yet (while False, this carrier's sends wait unclaimed in the outbox; once the next try is
        due they are claimed again, and the first of them finds out whether the upstream answers)."""
        return self._wait == 0.0 or time.monotonic() >= self._next_try

    async def start(self, intake: Intake) -> None:
        # What comes back arrives over HTTP at the API processes (loft/carriers/endpoints.py), not through here.
        if not self.loft.settings.public_url:
            log.warning("carrier %s: LOFT_PUBLIC_URL is not set; the upstream is asked to send status callbacks "
                        "to %s", self.name, self.status_callback)
        self.upstream.open()

    async def stop(self) -> None:
        await self.upstream.close()

    async def hand_over(self, message: Outgoing) -> Accepted:
        waiting = self._next_try - time.monotonic()
        if waiting > 0:
            raise Deferred("the upstream was unreachable at the last try", retry_after=waiting)
        if message.media_urls:
            # The upstream fetches the media itself, from where the tenant put them (Loft's copies need credentials).
            message = Outgoing(message.sid, message.account_sid, message.from_, message.to, message.body,
                               await self._original_media(message.sid))
        tried = time.monotonic()
        try:
            accepted = await self.upstream.create(message, status_callback=self.status_callback)
        except Unreachable as exc:
            self._unreachable(exc, tried)
            raise
        except Rejected as refused:
            self._reachable()
            if refused.error_code == OPTED_OUT:
                await record_opt_out(self.loft, sender=message.from_, recipient=message.to,
                                     account_sid=message.account_sid)
            raise
        except Deferred:
            self._reachable()
            raise
        self._reachable()
        return accepted

    def _unreachable(self, exc: Unreachable, tried: float) -> None:
        """Wait before the next try, twice as long as the last time, unless a try that began after this one
        failed already (the hand-offs that were under way together count once)."""
        if self._wait == 0.0:
            log.warning("carrier %s: %s; messages wait queued, tried again from time to time", self.name, exc.reason)
        if tried >= self._marked:
            self._wait = min(max(self._wait * 2, UNREACHABLE_FIRST), UNREACHABLE_MAX)
            self._marked = time.monotonic()
            self._next_try = self._marked + self._wait
        exc.retry_after = max(exc.retry_after, self._next_try - time.monotonic(), 0.1)

    def _reachable(self) -> None:
        if self._wait != 0.0:
            log.warning("carrier %s: the upstream answers again", self.name)
        self._wait = 0.0
        self._next_try = 0.0

    async def _original_media(self, message_sid: str) -> tuple[str, ...]:
        async with self.loft.db.read() as conn:
            found = await conn.execute(select(message_media.c.url).where(message_media.c.message_sid == message_sid)
                                       .order_by(message_media.c.position))
            return tuple(str(url) for url in found.scalars())


def status_callback_url(base_url: str, name: str) -> str:
    """Where the upstream sends a relayed message's status callbacks (``base_url``: ``LOFT_PUBLIC_URL``)."""
    return f"{base_url}/carriers/{name}/status"


async def record_opt_out(loft: Loft, *, sender: str, recipient: str, account_sid: str) -> None:
    """The upstream says ``recipient`` unsubscribed from ``sender`` (21610): recorded as a STOP to that sender
    is (:func:`loft.messages.optout.stopped`: for the whole Messaging Service whose pool holds it), so that later
    sends fail here at once with 21610."""
    async with loft.db.write() as conn:
        await optout.stopped(conn, sender=sender, recipient=recipient, account_sid=account_sid)

