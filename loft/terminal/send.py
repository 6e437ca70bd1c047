"""``loft send``: one message, or one per row of a CSV file rendered from a Liquid template.

One message::

    loft send --from +14155550123 --to +15558675310 --body "Hello" [--media-url URL]... [--wait]
    loft send --messaging-service-sid MG… --to +15558675310 --content-sid HX… --content-variables '{"1": "Ada"}'

Bulk::

    loft send --from +14155550123 --to-file recipients.csv --body 'Hi {{ first_name | default: "there" }}'

checks the credentials, the sender and every row first (a row Loft would refuse — no number, ``To=12``, a
template that cannot be rendered — is listed with its reason, and nothing is sent unless ``--skip-invalid``
says to send the others), shows the first rendered messages, asks before sending (``--yes`` does not), sends at
``--rate`` messages a second with a progress bar and writes a report CSV (``--report``). Exit status: 0 when
every message was accepted, 1 when any was refused (or the send was cancelled or failed).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.prompt import Confirm
from rich.table import Table

from loft.terminal import bulk, options
from loft.terminal.client import DEFAULT_URL, LoftClient, TerminalError

console = Console(highlight=False)

#: A message's statuses that will not change any more (``--wait`` stops at them).
FINAL = {"delivered", "undelivered", "failed", "received", "read", "canceled"}


def command(
    to: Annotated[Optional[str], typer.Option("--to", help="The recipient (one message).")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="The sender: a number of the account, or an alphanumeric ID.")] = None,
    body: Annotated[Optional[str], typer.Option("--body", help="The text; with --to-file, a Liquid template.")] = None,
    body_file: Annotated[Optional[Path], typer.Option("--body-file", help="Read the text (or template) from a file.")] = None,
    media_url: Annotated[Optional[list[str]], typer.Option("--media-url", help="Media to attach (repeatable); a template with --to-file.")] = None,
    messaging_service_sid: Annotated[Optional[str], typer.Option("--messaging-service-sid", help="Send through a Messaging Service (MG...).")] = None,
    content_sid: Annotated[Optional[str], typer.Option("--content-sid", help="One message: send a content template (HX...) instead of --body.")] = None,
    content_variables: Annotated[Optional[str], typer.Option("--content-variables", help='One message: the template\'s variables, a JSON object: \'{"1": "Ada"}\'.')] = None,
    status_callback: Annotated[Optional[str], typer.Option("--status-callback", help="URL for status callbacks.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="One message: wait for its final status and print it.")] = False,
    to_file: Annotated[Optional[Path], typer.Option("--to-file", help="Bulk: a CSV file with a 'phone' (or 'to') column; every column is a template variable.", rich_help_panel="Bulk")] = None,
    rate: Annotated[float, typer.Option("--rate", min=0.01, help="Bulk: at most this many messages per second.", rich_help_panel="Bulk")] = 10.0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64, help="Bulk: requests in flight at once.", rich_help_panel="Bulk")] = 4,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Bulk: send without asking.", rich_help_panel="Bulk")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Bulk: where to write the report CSV (default send-report-<timestamp>.csv).", rich_help_panel="Bulk")] = None,
    strict: Annotated[bool, typer.Option("--strict/--lenient", help="Bulk: an undefined template variable refuses the row (strict) or renders as nothing (lenient).", rich_help_panel="Bulk")] = True,
    preview: Annotated[int, typer.Option("--preview", min=0, help="Bulk: how many rendered messages to show before asking.", rich_help_panel="Bulk")] = 3,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Bulk: send the rows Loft would accept and report the others as refused (without it, any bad row stops the send).", rich_help_panel="Bulk")] = False,
    url: options.Url = DEFAULT_URL,
    account_sid: options.AccountSid = None,
    auth_token: options.AuthToken = None,
    api_key: options.ApiKey = None,
    api_secret: options.ApiSecret = None,
) -> None:
    """Send one message, or a templated message to every recipient of a CSV file (--to-file)."""
    connection = options.Connection(url, account_sid, auth_token, api_key, api_secret)
    with options.reporting(console):
        if body is not None and body_file is not None:
            raise TerminalError("Give --body or --body-file, not both.")
        text = _read(body_file) if body_file is not None else body
        sender = bulk.Sender(from_, messaging_service_sid, status_callback, content_sid, content_variables)
        if not from_ and not messaging_service_sid:
            raise TerminalError("Who sends? Give --from (or --messaging-service-sid).")
        if to_file is not None:
            if to is not None:
                raise TerminalError("Give --to or --to-file, not both.")
            if content_sid or content_variables:
                raise TerminalError("--content-sid and --content-variables send one message (--to), not a file.")
            if text is None:
                raise TerminalError("Bulk sends need a template: --body or --body-file.")
            exit_code = _bulk(connection, sender, to_file, text, media_url or [], rate=rate,
                              concurrency=concurrency, yes=yes, report=report, strict=strict, preview=preview,
                              skip_invalid=skip_invalid)
        else:
            if to is None:
                raise TerminalError("Whom to? Give --to (or --to-file for a bulk send).")
            exit_code = _single(connection, sender, bulk.Outgoing(0, to, text or "", tuple(media_url or ())), wait)
    if exit_code:
        raise typer.Exit(exit_code)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TerminalError(f"Cannot read {path}: {exc}") from exc


def _single(connection: options.Connection, sender: bulk.Sender, message: bulk.Outgoing, wait: bool) -> int:
    with connection.client() as client:
        created = client.post(client.api("Messages.json"), sender.form(message))
        console.print(f"[bold]{created['sid']}[/bold] {_status(created)}")
        if not wait:
            return 0
        final = _wait_for_final(client, created)
        line = f"[bold]{final['sid']}[/bold] {_status(final)}"
        if final.get("error_code"):
            line += f" [red]Error {final['error_code']}: {escape(str(final.get('error_message') or ''))}[/red]"
        console.print(line)
        return 0 if final["status"] not in ("failed", "undelivered") else 1


def _wait_for_final(client: LoftClient, message: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while message["status"] not in FINAL and time.monotonic() < deadline:
        time.sleep(0.3)
        message = client.get(client.api(f"Messages/{message['sid']}.json"))
    return message


def _status(message: dict[str, Any]) -> str:
    status = str(message.get("status"))
    color = {"delivered": "green", "received": "green", "failed": "red", "undelivered": "red"}.get(status, "yellow")
    return f"[{color}]{status}[/{color}]"


def default_report_path() -> Path:
    return Path(f"send-report-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.csv")


def _bulk(connection: options.Connection, sender: bulk.Sender, to_file: Path, text: str, media: list[str], *,
          rate: float, concurrency: int, yes: bool, report: Path | None, strict: bool, preview: int,
          skip_invalid: bool) -> int:
    from loft.terminal.templates import Template  # Liquid loads only for bulk sends

    body = Template(text, strict=strict, name="body")
    media_templates = [Template(source, strict=strict, name=f"media URL {source!r}") for source in media]
    recipients = bulk.read_recipients(to_file)
    report_path = report or default_report_path()
    with connection.client() as client:
        bulk.check_sender(client, sender)  # the credentials and the sender, before any row
        prepared = bulk.check_rows(bulk.prepare(recipients, body, media_templates), sender)
        count = len(prepared.ready)
        if prepared.refused:
            _show_refused(prepared, skip_invalid)
            if not skip_invalid:
                console.print(f"[red]Nothing was sent.[/red] Fix these rows, or pass --skip-invalid to send the "
                              f"other {count} and report these as refused.")
                return 1
        if not count:
            bulk.write_report(report_path, prepared.refused)
            console.print(f"[red]Nothing to send.[/red] Report: {escape(str(report_path))}")
            return 1
        _show_preview(prepared, preview)
        who = sender.from_ or sender.messaging_service_sid
        console.print(f"{count} message(s) from {escape(str(who))} at up to {rate:g}/s "
                      f"(about {_duration(count / rate)}).")
        if not yes:
            try:
                confirmed = Confirm.ask(f"Send {count} message(s)?", console=console, default=False)
            except EOFError:
                confirmed = False
            if not confirmed:
                console.print("Nothing was sent.")
                return 1

        outcomes: list[bulk.Outcome] = list(prepared.refused)
        bulk.write_report(report_path, outcomes)  # a report that cannot be written stops us before anything is sent
        progress = Progress(TextColumn("[bold]Sending"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("[green]{task.fields[accepted]} accepted[/green] "
                                       "[red]{task.fields[refused]} refused[/red]"),
                            TimeElapsedColumn(), TimeRemainingColumn(), console=console)
        counts = {"accepted": 0, "refused": 0}
        with progress:
            task = progress.add_task("send", total=count, accepted=0, refused=0)

            def advance(outcome: bulk.Outcome) -> None:
                counts["accepted" if outcome.status == "accepted" else "refused"] += 1
                progress.update(task, advance=1, accepted=counts["accepted"], refused=counts["refused"])

            try:
                outcomes += bulk.send_all(client, sender, prepared.ready, rate=rate, concurrency=concurrency,
                                          on_outcome=advance)
            except bulk.Interrupted as stop:
                outcomes += stop.outcomes
                bulk.write_report(report_path, outcomes)
                console.print(f"[red]Interrupted[/red]: {count - len(stop.outcomes)} message(s) not sent "
                              f"(not in the report). Report: {escape(str(report_path))}")
                return 1
    bulk.write_report(report_path, outcomes)
    accepted = sum(1 for outcome in outcomes if outcome.status == "accepted")
    unknown = sum(1 for outcome in outcomes if outcome.status == "unknown")
    refused = len(outcomes) - accepted - unknown
    summary = f"[green]{accepted} accepted[/green], [red]{refused} refused[/red]"
    if unknown:
        summary += f", [yellow]{unknown} unknown[/yellow] (no answer: check `loft tail` before sending them again)"
    console.print(f"{summary}. Report: {escape(str(report_path))}")
    return 0 if accepted == len(outcomes) else 1


#: How many bad rows are listed before "… and N more".
SHOWN_REFUSALS = 20


def _show_refused(prepared: bulk.Prepared, skipping: bool) -> None:
    """The rows that cannot be sent, each with its line in the file and the reason."""
    refused = prepared.refused
    total = len(refused) + len(prepared.ready)
    heading = "will be skipped (refused in the report)" if skipping else "cannot be sent"
    console.print(f"[yellow]{len(refused)} of {total} row(s) {heading}:[/yellow]")
    for outcome in refused[:SHOWN_REFUSALS]:
        code = f"Error {outcome.error_code}: " if outcome.error_code is not None else ""
        console.print(f"  row {outcome.row}: {escape(code + outcome.error_message)}", soft_wrap=True)
    if len(refused) > SHOWN_REFUSALS:
        console.print(f"  … and {len(refused) - SHOWN_REFUSALS} more")


def _show_preview(prepared: bulk.Prepared, count: int) -> None:
    if count <= 0 or not prepared.ready:
        return
    table = Table(title=f"Preview (first {min(count, len(prepared.ready))} of {len(prepared.ready)})",
                  show_lines=True)
    table.add_column("Row", justify="right")
    table.add_column("To")
    table.add_column("Message", overflow="fold")
    for message in prepared.ready[:count]:
        text = escape(message.body)
        if message.media_urls:
            text += "\n" + "\n".join(f"[dim]media: {escape(url)}[/dim]" for url in message.media_urls)
        table.add_row(str(message.row), message.to, text)
    console.print(table)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 0.1):.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
