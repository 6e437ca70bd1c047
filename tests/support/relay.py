"""Two real Loft servers for the Twilio relay: an upstream that stands in for Twilio (it speaks the same API), and
a front whose carriers file routes a prefix to it (``LOFT_CARRIERS_FILE``, ``LOFT_PUBLIC_URL``)."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from twilio.rest import Client

from loft.webhooks import signing
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import Sim

NAME = "upstream"
#: Destinations the front sends through the relay.
PREFIX = "+44"


def carriers_file(path: Path, upstream: LoftServer, *, name: str = NAME, prefix: str = PREFIX) -> Path:
    """A carriers file with one relay, to ``upstream``'s main account, taking ``prefix``."""
    path.write_text(f"""
[carriers.{name}]
type = "twilio"
base_url = "{upstream.base_url}"
account_sid = "{upstream.account_sid}"
auth_token = "{upstream.auth_token}"
request_seconds = 5

[[routes]]
prefix = "{prefix}"
carrier = "{name}"
""")
    return path


def front_env(front: LoftServer, carriers: Path) -> dict[str, str]:
    """The settings that make ``front`` relay: the carriers file, and the URL the upstream reaches it at."""
    return {"LOFT_CARRIERS_FILE": str(carriers), "LOFT_PUBLIC_URL": front.base_url}


def destination() -> str:
    """A UK mobile number (routed to the relay) no other test uses."""
    return "+447700" + "".join(secrets.choice("0123456789") for _ in range(6))


@dataclass
class Line:
    """A number a fresh tenant of the front owns, that the relay's account owns upstream too (inbound messages
    to it there go to the front's ``/carriers/{name}/inbound``)."""

    number: str
    tenant: Client
    tenant_auth: tuple[str, str]
    upstream: Client
    upstream_sim: Sim

    def close(self) -> None:
        self.upstream_sim.http.close()


def inbound_url(front: LoftServer, name: str = NAME) -> str:
    return f"{front.base_url}/carriers/{name}/inbound"


def status_url(front: LoftServer, name: str = NAME) -> str:
    return f"{front.base_url}/carriers/{name}/status"


def buy_upstream(upstream: LoftServer, front: LoftServer, *, sms_url: bool = True) -> str:
    """A number of the upstream's main account (the relay's), its SmsUrl the front's inbound route."""
    client = clients.sdk(upstream.base_url, upstream.account_sid, upstream.auth_token)
    number: str = client.incoming_phone_numbers.create(
        area_code="415", **({"sms_url": inbound_url(front)} if sms_url else {})).phone_number
    return number


def open_line(upstream: LoftServer, front: LoftServer, *, number: str | None = None, sms_url: bool = True) -> Line:
    """A fresh tenant on the front with ``number`` (bought upstream first when not given)."""
    number = number or buy_upstream(upstream, front, sms_url=sms_url)
    main = clients.sdk(front.base_url, front.account_sid, front.auth_token)
    account = main.api.accounts.create(friendly_name="relay tenant")
    tenant = clients.sdk(front.base_url, account.sid, account.auth_token)
    tenant.incoming_phone_numbers.create(phone_number=number)
    return Line(number, tenant, (account.sid, account.auth_token),
                clients.sdk(upstream.base_url, upstream.account_sid, upstream.auth_token),
                Sim(upstream.base_url, (upstream.account_sid, upstream.auth_token)))


def signed_post(url: str, token: str, params: list[tuple[str, str]], *, idempotency: str | None = None,
                signature: str | None = None) -> httpx.Response:
    """POST ``params`` to ``url`` as the upstream would, signed with ``token`` (or with ``signature`` as given)."""
    headers = {signing.HEADER: signature if signature is not None else signing.signature(token, url, params)}
    if idempotency is not None:
        headers["I-Twilio-Idempotency-Token"] = idempotency
    return httpx.post(url, data=dict(_grouped(params)), headers=headers, timeout=30)


def _grouped(params: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    return grouped


def query(server: LoftServer, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of ``statement`` (``?`` placeholders) in ``server``'s database, read without Loft."""
    if server.database_url is None:
        with sqlite3.connect(f"file:{server.data_dir / 'loft.db'}?mode=ro", uri=True) as db:
            return list(db.execute(statement, args).fetchall())
    numbered = statement
    for index in range(1, len(args) + 1):
        numbered = numbered.replace("?", f"${index}", 1)
    url = server.database_url

    async def read() -> list[tuple[Any, ...]]:
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            return [tuple(row) for row in await connection.fetch(numbered, *args)]
        finally:
            await connection.close()

    return asyncio.run(read())
