"""Bulk sends: recipients from a CSV file, one Liquid-rendered message each, paced, with a report.

``check_sender`` (before anything else: a sender Loft would refuse for every row) -> ``read_recipients`` ->
``prepare`` (render every row; a row that cannot be rendered is refused here) -> ``check_rows`` (every row
through Loft's own checks of a send, :mod:`loft.messages.validation`: ``To=12`` is refused with 21211 before
anything is sent) -> ``send_all`` (paced to ``rate`` messages a second, backing off when Loft answers 429 /
20429) -> ``write_report``. Nothing here prints: ``loft.terminal.send`` does the talking.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from loft.errors import TwilioApiError
from loft.kit import phone, urls
from loft.kit.forms import Form
from loft.messages import validation
from loft.terminal.client import ApiError, LoftClient, NoAnswer, TerminalError, quoted

if TYPE_CHECKING:
    from loft.terminal.templates import Template

#: Column names that hold the recipient's number, in order of preference (compared case-insensitively).
PHONE_COLUMNS = ("phone", "to", "phone_number", "phone number", "mobile", "number")
REPORT_COLUMNS = ("row", "recipient", "status", "message_sid", "error_code", "error_message")
#: Tries per message when Loft answers 429 or cannot be connected to (1, 2, 4, 8, 16 s apart unless told).
MAX_TRIES = 6
MAX_BACKOFF = 30.0
#: Twilio's "Too Many Requests".
TOO_MANY_REQUESTS = 20429
#: Twilio's "A 'To' phone number is required."
TO_REQUIRED = 21604

Status = Literal["accepted", "refused", "unknown"]


@dataclass(frozen=True)
class Recipient:
    #: The CSV line of the row (the header is line 1).
    row: int
    to: str
    variables: dict[str, str]


@dataclass(frozen=True)
class Outgoing:
    row: int
    to: str
    body: str
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    row: int
    recipient: str
    status: Status
    message_sid: str = ""
    error_code: int | None = None
    error_message: str = ""


@dataclass(frozen=True)
class Prepared:
    ready: list[Outgoing] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)


def read_recipients(path: Path) -> list[Recipient]:
    """The rows of a CSV file with a header naming a ``phone`` (or ``to``…) column; every column is a variable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in (reader.fieldnames or [])]
            phone_column = _phone_column(header, path)
            recipients = []
            for line, row in enumerate(reader, start=2):
                variables = {(key or "").strip(): (value or "").strip() for key, value in row.items()
                             if key is not None and isinstance(value, str)}
                if not any(variables.values()):
                    continue  # a blank line
                recipients.append(Recipient(line, variables.get(phone_column, ""), variables))
            return recipients
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TerminalError(f"Cannot read {path}: {exc}") from exc


def _phone_column(header: Sequence[str], path: Path) -> str:
    by_lower = {name.lower(): name for name in header}
    for wanted in PHONE_COLUMNS:
        if wanted in by_lower:
            return by_lower[wanted]
    raise TerminalError(f"{path} has no 'phone' or 'to' column (its columns: {', '.join(header) or 'none'})")


def prepare(recipients: Iterable[Recipient], body: Template, media: Sequence[Template] = ()) -> Prepared:
    """Render every recipient's message; rows without a number or that the templates reject are refused."""
    from loft.terminal.templates import TemplateProblem  # Liquid loads only for bulk sends

    prepared = Prepared()
    for recipient in recipients:
        if not recipient.to:
            prepared.refused.append(Outcome(recipient.row, "", "refused", error_code=TO_REQUIRED,
                                            error_message="A 'To' phone number is required."))
            continue
        try:
            text = body.render(recipient.variables)
            urls = tuple(url for url in (template.render(recipient.variables).strip() for template in media) if url)
        except TemplateProblem as exc:
            prepared.refused.append(Outcome(recipient.row, recipient.to, "refused", error_message=str(exc)))
            continue
        prepared.ready.append(Outgoing(recipient.row, recipient.to, text, urls))
    return prepared


class Pacer:
    """Hands out send slots ``1/rate`` seconds apart to any number of threads; ``hold`` pauses everyone."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


@dataclass(frozen=True)
class Sender:
    """Who sends: a ``From`` number (or alphanumeric ID), a Messaging Service, or both; and, for one message, the
    content template it sends instead of a body (``ContentSid``, ``ContentVariables``)."""

    from_: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None

    def fields(self, message: Outgoing) -> list[tuple[str, str]]:
        """:meth:`form` as the pairs of a form (``MediaUrl`` repeated)."""
        return [(name, item) for name, value in self.form(message).items()
                for item in ([value] if isinstance(value, str) else value)]

    def form(self, message: Outgoing) -> dict[str, str | list[str]]:
        form: dict[str, str | list[str]] = {"To": message.to, "Body": message.body}
        if message.media_urls:
            form["MediaUrl"] = list(message.media_urls)
        if self.from_:
            form["From"] = self.from_
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        if self.content_sid:
            form["ContentSid"] = self.content_sid
        if self.content_variables:
            form["ContentVariables"] = self.content_variables
        return form


def check_rows(prepared: Prepared, sender: Sender) -> Prepared:
    """Every rendered message through the checks Loft makes of a send before it looks at the account's numbers
    (the same code, :func:`loft.messages.validation.validate`): a row Loft would refuse joins the refused, with
    Twilio's code and message. Refused rows come in file order."""
    checked = Prepared(refused=list(prepared.refused))
    for message in prepared.ready:
        try:
            validation.validate(Form(sender.fields(message)))
        except TwilioApiError as exc:
            checked.refused.append(Outcome(message.row, message.to, "refused", error_code=exc.code,
                                           error_message=exc.message))
        else:
            checked.ready.append(message)
    checked.refused.sort(key=lambda outcome: outcome.row)
    return checked


def check_sender(client: LoftClient, sender: Sender) -> None:
    """Refuse at once, in one line, a sender Loft would refuse for every row: a malformed ``From`` or status
    callback URL, a Messaging Service that is not the account's, a number that is not an SMS-capable number of the
    account, a short code (Loft has none). Reading the account's numbers checks the credentials too."""
    try:
        validation.check_sender(sender.from_ or "", sender.messaging_service_sid or "")
        urls.optional(sender.status_callback or "", "StatusCallback", code=21609)
    except TwilioApiError as exc:
        raise TerminalError(f"Error {exc.code}: {exc.message}") from exc
    service = (sender.messaging_service_sid or "").strip()
    if service:
        try:
            client.get(f"/v1/Services/{quoted(service)}")
        except ApiError as exc:
            if exc.status != 404:
                raise
            raise TerminalError(f"Error 21705: --messaging-service-sid {service} is not a Messaging Service of "
                                f"account {client.account_sid}.") from exc
    text = (sender.from_ or "").strip()
    number = phone.e164(text) if text.startswith("+") and text != validation.MAGIC_VALID_FROM else None
    # One read of the account's numbers: it checks the credentials whatever the sender, and finds its number.
    found = client.get(client.api("IncomingPhoneNumbers.json"),
                       {"PhoneNumber": number.lstrip("+")} if number else {"PageSize": 1})
    if number is not None:
        if any(record.get("phone_number") == number and (record.get("capabilities") or {}).get("sms")
               for record in found.get("incoming_phone_numbers", [])):
            return
    elif not phone.is_short_code(text):
        return  # the magic number, an alphanumeric sender ID or a Messaging Service: nothing to own
    raise TerminalError(f"Error 21606: --from {text} is not an SMS-capable number of account {client.account_sid} "
                        "(`loft numbers list` shows its numbers).")


def send_one(client: LoftClient, pacer: Pacer, sender: Sender, message: Outgoing) -> Outcome:
    """POST one message, within the pace; 429 and refused connections are retried after a back-off."""
    backoff = 1.0
    for attempt in range(1, MAX_TRIES + 1):
        pacer.wait()
        try:
            created = client.post(client.api("Messages.json"), sender.form(message))
        except ApiError as exc:
            throttled = exc.status == 429 or exc.code == TOO_MANY_REQUESTS
            if throttled and attempt < MAX_TRIES:
                pacer.hold(exc.retry_after if exc.retry_after is not None else backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            return Outcome(message.row, message.to, "refused", error_code=exc.code, error_message=exc.message)
        except NoAnswer as exc:
            if not exc.maybe_received and attempt < MAX_TRIES:
                pacer.hold(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            # A request that may have reached Loft is not retried: it could send the message twice.
            return Outcome(message.row, message.to, "unknown" if exc.maybe_received else "refused",
                           error_message=str(exc))
        return Outcome(message.row, message.to, "accepted", message_sid=str(created.get("sid", "")))
    raise AssertionError("unreachable")  # pragma: no cover - the last try always returns


def send_all(client: LoftClient, sender: Sender, messages: Sequence[Outgoing], *, rate: float,
             concurrency: int = 4, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Send every message at most ``rate`` a second with up to ``concurrency`` requests in flight.

    On Ctrl-C the messages not yet started are dropped, the ones in flight are awaited, and
    :class:`Interrupted` carries the outcomes so far.
    """
    pacer = Pacer(rate)
    outcomes: list[Outcome] = []
    futures: dict[Future[Outcome], Outgoing] = {}
    executor = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="loft-send")
    try:
        for message in messages:
            futures[executor.submit(send_one, client, pacer, sender, message)] = message
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # a bug of ours, not an answer of Loft's: say so in the report, go on
                message = futures[future]
                outcome = Outcome(message.row, message.to, "unknown", error_message=f"{type(exc).__name__}: {exc}")
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    except KeyboardInterrupt:
        executor.shutdown(wait=True, cancel_futures=True)
        done = {outcome.row for outcome in outcomes}
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                late = future.result()
                if late.row not in done:
                    outcomes.append(late)
        raise Interrupted(outcomes) from None
    finally:
        executor.shutdown(wait=True)
    return outcomes


class Interrupted(Exception):
    """The user stopped a bulk send (Ctrl-C); ``outcomes`` are the messages that got an answer."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


def write_report(path: Path, outcomes: Iterable[Outcome]) -> None:
    """One CSV row per recipient, in the order of the recipients file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(REPORT_COLUMNS)
            for outcome in sorted(outcomes, key=lambda outcome: outcome.row):
                writer.writerow([outcome.row, outcome.recipient, outcome.status, outcome.message_sid,
                                 "" if outcome.error_code is None else outcome.error_code, outcome.error_message])
    except OSError as exc:
        raise TerminalError(f"Cannot write the report {path}: {exc}") from exc
