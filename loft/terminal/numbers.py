"""``loft numbers search|buy|list|configure``: the account's phone numbers, from the terminal.

- ``search`` asks ``AvailablePhoneNumbers/{Country}/{Type}.json`` what can be bought;
- ``buy`` posts to ``IncomingPhoneNumbers.json`` a ``PhoneNumber`` or an ``AreaCode`` (with neither, the first
  number ``search`` finds);
- ``list`` pages through ``IncomingPhoneNumbers.json``;
- ``configure`` updates a number's messaging (``SmsUrl``, ``SmsMethod``, ``SmsFallbackUrl``,
  ``SmsApplicationSid``, ``StatusCallback``…), the number given as E.164 or as its PN SID.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loft.terminal import options
from loft.terminal.client import DEFAULT_URL, ApiError, LoftClient, TerminalError, quoted

console = Console(highlight=False)
app = typer.Typer(no_args_is_help=True, help="Search, buy, list and configure the account's phone numbers.")

#: ``--type`` spellings -> the path segment of AvailablePhoneNumbers.
TYPES = {
    "local": "Local", "tollfree": "TollFree", "toll-free": "TollFree", "mobile": "Mobile",
    "national": "National", "voip": "Voip", "sharedcost": "SharedCost", "shared-cost": "SharedCost",
    "machinetomachine": "MachineToMachine", "machine-to-machine": "MachineToMachine",
}
_PN_SID = re.compile(r"^PN[0-9a-fA-F]{32}$")

# Connection options, repeated on each subcommand so they can come after it (``loft numbers list --url …``).
Url = options.Url
Sid = options.AccountSid
Token = options.AuthToken
Key = options.ApiKey
Secret = options.ApiSecret

# Messaging settings, shared by ``buy`` and ``configure``. An empty value ('') clears a setting.
_MESSAGING = "Messaging"
FriendlyName = Annotated[Optional[str], typer.Option("--friendly-name", help="A name for the number.", rich_help_panel=_MESSAGING)]
SmsUrl = Annotated[Optional[str], typer.Option("--sms-url", help="Webhook for incoming messages ('' clears it).", rich_help_panel=_MESSAGING)]
SmsMethod = Annotated[Optional[str], typer.Option("--sms-method", help="GET or POST.", rich_help_panel=_MESSAGING)]
SmsFallbackUrl = Annotated[Optional[str], typer.Option("--sms-fallback-url", help="Requested when the SMS URL fails.", rich_help_panel=_MESSAGING)]
SmsFallbackMethod = Annotated[Optional[str], typer.Option("--sms-fallback-method", help="GET or POST.", rich_help_panel=_MESSAGING)]
SmsApplicationSid = Annotated[Optional[str], typer.Option("--sms-application-sid", help="A TwiML app (AP...) handling messages; it wins over --sms-url ('' clears it).", rich_help_panel=_MESSAGING)]
StatusCallback = Annotated[Optional[str], typer.Option("--status-callback", help="URL for status callbacks.", rich_help_panel=_MESSAGING)]
StatusCallbackMethod = Annotated[Optional[str], typer.Option("--status-callback-method", help="GET or POST.", rich_help_panel=_MESSAGING)]
AsJson = Annotated[bool, typer.Option("--json", help="Print the resources as JSON.")]


def _settings(**values: str | None) -> dict[str, str]:
    names = {"friendly_name": "FriendlyName", "sms_url": "SmsUrl", "sms_method": "SmsMethod",
             "sms_fallback_url": "SmsFallbackUrl", "sms_fallback_method": "SmsFallbackMethod",
             "sms_application_sid": "SmsApplicationSid", "status_callback": "StatusCallback",
             "status_callback_method": "StatusCallbackMethod"}
    form: dict[str, str] = {}
    for name, value in values.items():
        if value is not None:
            form[names[name]] = value.upper() if name.endswith("_method") else value
    return form


def _connection(url: str, account_sid: str | None, auth_token: str | None, api_key: str | None,
                api_secret: str | None) -> options.Connection:
    return options.Connection(url, account_sid, auth_token, api_key, api_secret)


def _type_segment(kind: str) -> str:
    segment = TYPES.get(kind.lower())
    if segment is None:
        raise TerminalError(f"Unknown number type {kind!r}: local, toll-free, mobile, national, voip, "
                            "shared-cost or machine-to-machine.")
    return segment


def available(client: LoftClient, *, country: str, kind: str, area_code: str | None, contains: str | None,
              sms: bool, mms: bool, limit: int) -> list[dict[str, Any]]:
    params: dict[str, str | int] = {"PageSize": limit}
    if area_code:
        params["AreaCode"] = area_code
    if contains:
        params["Contains"] = contains
    if sms:
        params["SmsEnabled"] = "true"
    if mms:
        params["MmsEnabled"] = "true"
    country = country.upper()
    segment = _type_segment(kind)
    try:
        page = client.get(client.api(f"AvailablePhoneNumbers/{quoted(country)}/{segment}.json"), params)
    except ApiError as exc:
        if exc.status == 404:
            raise _not_for_sale(client, country, segment) from exc
        raise
    found: list[dict[str, Any]] = page.get("available_phone_numbers", [])
    return found[:limit]


def _not_for_sale(client: LoftClient, country: str, segment: str) -> TerminalError:
    """Why a search answered 404: no such kind in that country, no such country, or no search at all."""
    try:
        sold = client.get(client.api(f"AvailablePhoneNumbers/{quoted(country)}.json"))
        kinds = [uri.rsplit("/", 1)[-1].removesuffix(".json") for uri in sold.get("subresource_uris", {}).values()]
        return TerminalError(f"No {segment} numbers are for sale in {country}; try --type "
                             f"{' or '.join(kinds) or '(none)'}.")
    except ApiError as exc:
        if exc.status != 404:
            return exc
    try:
        countries = client.get(client.api("AvailablePhoneNumbers.json")).get("countries", [])
        codes = ", ".join(sorted(str(c.get("country_code")) for c in countries))
        return TerminalError(f"No numbers are for sale in {country}; countries: {codes}.")
    except ApiError as exc:
        if exc.status != 404:
            return exc
    return TerminalError("This Loft server cannot search numbers for sale (no AvailablePhoneNumbers). "
                         "Buy one by area code: loft numbers buy --area-code 415")


def resolve(client: LoftClient, number: str) -> dict[str, Any]:
    """The IncomingPhoneNumber given as its PN SID or its number (E.164, or digits it ends with)."""
    text = number.strip()
    if _PN_SID.match(text):
        return client.get(client.api(f"IncomingPhoneNumbers/{text}.json"))
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        raise TerminalError(f"{number!r} is neither a phone number nor a PN SID.")
    candidates = list(client.pages(client.api("IncomingPhoneNumbers.json"), {"PhoneNumber": digits, "PageSize": 1000},
                                   key="incoming_phone_numbers"))
    exact = [record for record in candidates if record.get("phone_number") == f"+{digits}"]
    if exact:
        return exact[0]
    ending = [record for record in candidates if str(record.get("phone_number", "")).endswith(digits)]
    if len(ending) == 1:
        return ending[0]
    if ending:
        raise TerminalError(f"{number} matches {len(ending)} numbers: give it in E.164 (+1...) or as a PN SID.")
    raise TerminalError(f"{number} is not a number of account {client.account_sid}.")


def _describe(number: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    caps = number.get("capabilities") or {}
    rows = [
        ("SID", number.get("sid")), ("Number", number.get("phone_number")),
        ("Friendly name", number.get("friendly_name")),
        ("Capabilities", ", ".join(name for name, on in caps.items() if on) or "none"),
        ("SMS URL", _with_method(number.get("sms_url"), number.get("sms_method"))),
        ("SMS fallback URL", _with_method(number.get("sms_fallback_url"), number.get("sms_fallback_method"))),
        ("SMS application", number.get("sms_application_sid")),
        ("Status callback", _with_method(number.get("status_callback"), number.get("status_callback_method"))),
    ]
    for label, value in rows:
        table.add_row(label, escape(str(value)) if value else "[dim]-[/dim]")
    console.print(table)


def _with_method(url: object, method: object) -> str | None:
    return f"{method} {url}" if url else None


def _json(data: object) -> None:
    console.print_json(json.dumps(data))


@app.command("search")
def search(
    country: Annotated[str, typer.Option("--country", help="ISO country code.")] = "US",
    kind: Annotated[str, typer.Option("--type", help="local, toll-free, mobile, ...")] = "local",
    area_code: Annotated[Optional[str], typer.Option("--area-code", help="e.g. 415")] = None,
    contains: Annotated[Optional[str], typer.Option("--contains", help="Digits (or letters) the number contains; * matches any digit.")] = None,
    sms: Annotated[bool, typer.Option("--sms", help="Only numbers that can send SMS.")] = False,
    mms: Annotated[bool, typer.Option("--mms", help="Only numbers that can send MMS.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many numbers.")] = 20,
    as_json: AsJson = False,
    url: Url = DEFAULT_URL, account_sid: Sid = None, auth_token: Token = None, api_key: Key = None,
    api_secret: Secret = None,
) -> None:
    """Numbers for sale (AvailablePhoneNumbers)."""
    def work(client: LoftClient) -> None:
        found = available(client, country=country, kind=kind, area_code=area_code, contains=contains, sms=sms,
                          mms=mms, limit=limit)
        if as_json:
            _json(found)
            return
        if not found:
            console.print("[yellow]No numbers found.[/yellow]")
            return
        table = Table(title=f"{len(found)} number(s) for sale")
        for header in ("Number", "Friendly name", "Locality", "Region", "Capabilities"):
            table.add_column(header)
        for record in found:
            caps = record.get("capabilities") or {}
            table.add_row(record.get("phone_number"), record.get("friendly_name"), record.get("locality") or "",
                          record.get("region") or "", ", ".join(name for name, on in caps.items() if on))
        console.print(table)
    options.connected(console, _connection(url, account_sid, auth_token, api_key, api_secret), work)


@app.command("buy")
def buy(
    phone_number: Annotated[Optional[str], typer.Argument(help="The number to buy (E.164); or use --area-code.")] = None,
    area_code: Annotated[Optional[str], typer.Option("--area-code", help="Buy any number in this area code.")] = None,
    country: Annotated[str, typer.Option("--country", help="Without a number or area code: search this country.")] = "US",
    kind: Annotated[str, typer.Option("--type", help="Without a number or area code: search this type.")] = "local",
    friendly_name: FriendlyName = None, sms_url: SmsUrl = None, sms_method: SmsMethod = None,
    sms_fallback_url: SmsFallbackUrl = None, sms_fallback_method: SmsFallbackMethod = None,
    sms_application_sid: SmsApplicationSid = None, status_callback: StatusCallback = None,
    status_callback_method: StatusCallbackMethod = None,
    as_json: AsJson = False,
    url: Url = DEFAULT_URL, account_sid: Sid = None, auth_token: Token = None, api_key: Key = None,
    api_secret: Secret = None,
) -> None:
    """Buy a number (IncomingPhoneNumbers), optionally configuring its messaging at once."""
    form = _settings(friendly_name=friendly_name, sms_url=sms_url, sms_method=sms_method,
                     sms_fallback_url=sms_fallback_url, sms_fallback_method=sms_fallback_method,
                     sms_application_sid=sms_application_sid, status_callback=status_callback,
                     status_callback_method=status_callback_method)

    def work(client: LoftClient) -> None:
        if phone_number:
            form["PhoneNumber"] = phone_number
        elif area_code:
            form["AreaCode"] = area_code
        else:
            found = available(client, country=country, kind=kind, area_code=None, contains=None, sms=True,
                              mms=False, limit=1)
            if not found:
                raise TerminalError(f"No {kind} number for sale in {country.upper()}.")
            form["PhoneNumber"] = found[0]["phone_number"]
        bought = client.post(client.api("IncomingPhoneNumbers.json"), form)
        if as_json:
            _json(bought)
            return
        console.print(f"[green]Bought {escape(str(bought.get('phone_number')))}[/green]")
        _describe(bought)
    options.connected(console, _connection(url, account_sid, auth_token, api_key, api_secret), work)


@app.command("list")
def list_numbers(
    contains: Annotated[Optional[str], typer.Option("--contains", help="Only numbers containing these digits.")] = None,
    as_json: AsJson = False,
    url: Url = DEFAULT_URL, account_sid: Sid = None, auth_token: Token = None, api_key: Key = None,
    api_secret: Secret = None,
) -> None:
    """The account's numbers and where their messages go."""
    def work(client: LoftClient) -> None:
        params: dict[str, str | int] = {"PageSize": 100}
        if contains:
            params["PhoneNumber"] = contains
        records = list(client.pages(client.api("IncomingPhoneNumbers.json"), params, key="incoming_phone_numbers"))
        if as_json:
            _json(records)
            return
        if not records:
            console.print("[yellow]No numbers.[/yellow] Buy one: loft numbers buy --area-code 415")
            return
        table = Table(title=f"{len(records)} number(s)")
        for header in ("SID", "Number", "Friendly name", "Messages go to"):
            table.add_column(header, overflow="fold")
        for record in records:
            route = (f"app {record['sms_application_sid']}" if record.get("sms_application_sid")
                     else _with_method(record.get("sms_url"), record.get("sms_method")) or "[dim]nowhere[/dim]")
            table.add_row(record.get("sid"), record.get("phone_number"), escape(str(record.get("friendly_name") or "")),
                          route if route.startswith("[dim]") else escape(route))
        console.print(table)
    options.connected(console, _connection(url, account_sid, auth_token, api_key, api_secret), work)


@app.command("configure")
def configure(
    number: Annotated[str, typer.Argument(help="The number (E.164) or its SID (PN...).")],
    friendly_name: FriendlyName = None, sms_url: SmsUrl = None, sms_method: SmsMethod = None,
    sms_fallback_url: SmsFallbackUrl = None, sms_fallback_method: SmsFallbackMethod = None,
    sms_application_sid: SmsApplicationSid = None, status_callback: StatusCallback = None,
    status_callback_method: StatusCallbackMethod = None,
    as_json: AsJson = False,
    url: Url = DEFAULT_URL, account_sid: Sid = None, auth_token: Token = None, api_key: Key = None,
    api_secret: Secret = None,
) -> None:
    """Set where a number's messages go (webhook, fallback, TwiML app); without options, show it."""
    form = _settings(friendly_name=friendly_name, sms_url=sms_url, sms_method=sms_method,
                     sms_fallback_url=sms_fallback_url, sms_fallback_method=sms_fallback_method,
                     sms_application_sid=sms_application_sid, status_callback=status_callback,
                     status_callback_method=status_callback_method)

    def work(client: LoftClient) -> None:
        record = resolve(client, number)
        if form:
            record = client.post(client.api(f"IncomingPhoneNumbers/{record['sid']}.json"), form)
            if not as_json:
                console.print(f"[green]Updated {escape(str(record.get('phone_number')))}[/green]")
        if as_json:
            _json(record)
        else:
            _describe(record)
    options.connected(console, _connection(url, account_sid, auth_token, api_key, api_secret), work)
