"""The carriers file (``LOFT_CARRIERS_FILE``): which carriers exist and which destinations each takes.

.. code-block:: toml

    [carriers.smsc]            # any name
    type = "smpp"
    host = "127.0.0.1"
    port = 2775
    system_id = "loft"
    password = "secret"

    [carriers.upstream]
    type = "twilio"
    base_url = "https://api.twilio.com"
    account_sid = "AC…"
    auth_token = "…"

    [[routes]]
    prefix = "+44"
    carrier = "smsc"

A destination goes to the carrier of the longest matching prefix; destinations no route matches go to the
simulator (a route may also name ``sim``, to keep a longer prefix on it). A mistake stops ``loft serve`` with one
line naming the file and the problem (:func:`load`). Secrets are :class:`pydantic.SecretStr`: never printed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from loft.errors import ConfigurationError

SIM = "sim"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: Where a carrier runs: in one process of the deployment (``one``: one bind set in all), or in every process
#: that delivers (``per-worker``: one bind set per worker process).
Instances = Literal["one", "per-worker"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmppSettings(_Strict):
    """An SMSC reached over SMPP 3.4 (Loft is the ESME: loft/delivery/carriers/smpp.py, docs/carriers.md)."""

    type: Literal["smpp"]
    host: str
    port: int = Field(ge=1, le=65535)
    #: SMPP 3.4 limits: system_id 15 characters, password 8, system_type 12 (C-Octet strings with their NUL).
    system_id: str = Field(min_length=1, max_length=15)
    password: SecretStr
    system_type: str = Field(default="", max_length=12)
    bind: Literal["transceiver", "transmitter+receiver"] = "transceiver"
    #: submit_sm sent and not answered yet, at most.
    window: int = Field(default=10, ge=1, le=1000)
    #: submit_sm per second at most, each part of a long message counting (None: as fast as the window allows).
    throughput: float | None = Field(default=None, gt=0)
    #: TON/NPI of E.164 numbers (sent as digits, without the ``+``); alphanumeric senders go with TON 5 / NPI 0
    #: and short codes with TON 3 / NPI 0.
    source_ton: int = Field(default=1, ge=0, le=6)
    source_npi: int = Field(default=1, ge=0, le=18)
    dest_ton: int = Field(default=1, ge=0, le=6)
    dest_npi: int = Field(default=1, ge=0, le=18)
    #: How a long message is split: UDH (the default), SAR TLVs, or whole in message_payload.
    concatenation: Literal["udh", "sar", "payload"] = "udh"
    #: Seconds the SMSC has to answer a bind or a submit_sm; past them the connection is taken for lost, dropped
    #: and bound again (smpp34 sends enquire_link every 30 s on its own and notices a silent SMSC after ~60 s).
    response_seconds: float = Field(default=10.0, gt=0, le=600)
    #: The longest wait between two attempts to bind (it doubles from half a second up to this).
    reconnect_max_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: Seconds the parts of a long mobile-originated message are waited for, after its first part; then it is
    #: delivered with the parts that came.
    mo_parts_seconds: float = Field(default=60.0, gt=0, le=3600)
    #: A receipt's ``err`` → the Twilio code of a message not delivered (instead of the one its ``stat`` gives).
    receipt_errors: dict[str, Literal[30003, 30004, 30005, 30006, 30007, 30008]] = Field(default_factory=dict)
    instances: Instances = "one"

    @field_validator("password")
    @classmethod
    def _password_fits(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) > 8:
            raise ValueError("at most 8 characters (SMPP 3.4)")
        return value


class TwilioSettings(_Strict):
    """An upstream Twilio (or anything that speaks its API: another Loft), which Loft relays messages to."""

    type: Literal["twilio"]
    base_url: str = "https://api.twilio.com"
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    #: The upstream account's auth token: it signs the callbacks and webhooks the upstream sends back (an API key
    #: secret does not), so it is required even when sends use an API key.
    auth_token: SecretStr
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    api_key_secret: SecretStr | None = None
    request_seconds: float = Field(default=15.0, gt=0, le=600)
    instances: Instances = "one"

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"base_url must be an http(s) URL, not {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _key_pair(self) -> TwilioSettings:
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            raise ValueError("api_key_sid and api_key_secret go together")
        return self


CarrierSettings = Annotated[SmppSettings | TwilioSettings, Field(discriminator="type")]


class Route(_Strict):
    prefix: str = Field(pattern=r"^\+[0-9]*$")
    carrier: str


class CarriersFile(_Strict):
    carriers: dict[str, CarrierSettings] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> CarriersFile:
        for name in self.carriers:
            if name == SIM or not _NAME.match(name):
                raise ValueError(f"carrier name {name!r}: use lowercase letters, digits, '-' and '_' "
                                 f"(and not {SIM!r}, the simulator's)")
        prefixes: set[str] = set()
        for route in self.routes:
            if route.carrier != SIM and route.carrier not in self.carriers:
                raise ValueError(f"the route for {route.prefix} names carrier {route.carrier!r}, "
                                 f"which is not in [carriers]")
            if route.prefix in prefixes:
                raise ValueError(f"two routes for the prefix {route.prefix}")
            prefixes.add(route.prefix)
        return self


@dataclass(frozen=True, slots=True)
class Plan:
    """The carriers and routes of a deployment (the simulator alone when there is no carriers file)."""

    carriers: dict[str, SmppSettings | TwilioSettings]
    routes: tuple[tuple[str, str], ...]  # (prefix, carrier), longest prefix first

    def route(self, to: str) -> str:
        """The carrier that takes messages to ``to``: the longest matching prefix's, else the simulator."""
        for prefix, carrier in self.routes:
            if to.startswith(prefix):
                return carrier
        return SIM

    def relays(self) -> dict[str, TwilioSettings]:
        return {name: each for name, each in self.carriers.items() if isinstance(each, TwilioSettings)}


SIMULATOR_ONLY = Plan({}, ())


def _where(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as the TOML path it points at: ``carriers.smsc.port``, ``routes[0].prefix``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in ("smpp", "twilio") or not text.startswith("carriers."):
            text += f".{part}" if text else str(part)
    return text


def parse(text: str, source: str) -> Plan:
    """The plan a carriers file's ``text`` describes; :class:`ConfigurationError` (one line) if it is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"LOFT_CARRIERS_FILE: {source} is not valid TOML ({exc})") from None
    try:
        parsed = CarriersFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _where(first["loc"])
        problem = first["msg"].removeprefix("Value error, ")
        if first["type"] == "union_tag_invalid":
            problem = f"unknown carrier type {first['input'].get('type')!r} (use \"smpp\" or \"twilio\")"
        elif first["type"] == "union_tag_not_found":
            problem = "no type (use type = \"smpp\" or type = \"twilio\")"
        elif first["type"] == "missing":
            problem = "missing (required)"
        elif first["type"] == "extra_forbidden":
            problem = "unknown setting"
        raise ConfigurationError(f"LOFT_CARRIERS_FILE: {source}: {where + ': ' if where else ''}{problem}") from None
    routes = sorted(((route.prefix, route.carrier) for route in parsed.routes), key=lambda pair: -len(pair[0]))
    return Plan(dict(parsed.carriers), tuple(routes))


@lru_cache(maxsize=8)
def load(path: str | None) -> Plan:
    """The plan in the file at ``path`` (None: the simulator alone), read once per process."""
    if not path:
        return SIMULATOR_ONLY
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"LOFT_CARRIERS_FILE: cannot read {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"LOFT_CARRIERS_FILE: {path} is not UTF-8 text") from None
    return parse(text, path)
