"""Settings, read from ``LOFT_*`` environment variables, and from a TOML file if one is named.

Secrets are ``SecretStr``: their ``repr`` and ``str`` never show the value, so a settings object can be
logged safely.

Where a setting comes from, first found wins: the ``loft`` command's options, the environment, the TOML file
named by ``LOFT_CONFIG`` (or ``--config``, which sets it for the processes ``loft serve`` starts too), the
defaults. The file's keys are the variables' names without ``LOFT_``, in lower case (``port = 8080``); a key
that names no setting stops Loft with a line naming it (:class:`ConfigFile`).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from loft.errors import ConfigurationError

#: The environment variable that names the TOML settings file (``loft serve --config`` sets it).
CONFIG_VARIABLE = "LOFT_CONFIG"

#: Default price of one outbound SMS segment, by destination country (ISO 3166 alpha-2), in USD.
#: Twilio charges inbound and outbound per segment; ``*`` is the fallback for any other country.
DEFAULT_SMS_PRICES: dict[str, Decimal] = {
    "US": Decimal("0.0079"),
    "CA": Decimal("0.0079"),
    "GB": Decimal("0.0463"),
    "FR": Decimal("0.0798"),
    "DE": Decimal("0.0945"),
    "*": Decimal("0.0500"),
}

#: Default price of one outbound MMS, by destination country.
DEFAULT_MMS_PRICES: dict[str, Decimal] = {"US": Decimal("0.0200"), "CA": Decimal("0.0200"), "*": Decimal("0.0400")}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOFT_", extra="ignore")

    data_dir: Path = Path(".loft")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    #: The URL clients reach Loft at (media URLs in webhooks point there, and the v1 API's absolute URLs start
    #: with it). Default: ``http://host:port`` (the v1 API: the address the client used).
    public_url: str | None = None
    #: ``loft serve`` processes answering the API on the same address (the kernel spreads connections over
    #: them), each delivering what it accepts: 1 (default) is one process; on SQLite they take turns to write.
    #: ``auto``: as many as the database scales with on this machine (:attr:`api_processes`).
    processes: int | Literal["auto"] = 1
    #: Let ``loft serve`` deliver (turn off when separate ``loft worker`` processes do all of it).
    workers: bool = True
    #: ``loft worker`` processes that ``loft serve`` starts, wakes and restarts to deliver in; 0 (default)
    #: delivers inside the API process. 1 puts delivery on a core of its own (see docs/deployment.md).
    worker_processes: int = Field(default=0, ge=0, le=64)
    #: Seconds between a worker's looks at the outbox when nothing wakes it (work due later, other processes).
    worker_poll_seconds: float = Field(default=0.25, gt=0, le=3600)
    #: PostgreSQL: seconds between a worker's ``VACUUM`` of the outbox while it runs jobs (0: leave the table to
    #: autovacuum, which visits it once a minute at most; see docs/deployment.md).
    outbox_vacuum_seconds: float = Field(default=2.0, ge=0, le=3600)
    #: Messages an account may have ``scheduled`` at once (Twilio's limit, 500,000); one more is refused (35125).
    max_scheduled_per_account: int = Field(default=500_000, ge=1)
    #: How many jobs (sends, delivery reports, webhooks) one worker runs at once.
    worker_concurrency: int = Field(default=128, ge=1, le=10_000)
    #: Messages per second per sender type (``local``, ``mobile``, ``tollFree``, ``shortCode``,
    #: ``alphanumeric``): ``unlimited`` (default, for fast test suites), ``twilio`` (Twilio's defaults) or a
    #: JSON object such as ``{"local": 1, "tollFree": 3}``.
    sender_mps: dict[str, float] | str = "unlimited"
    #: How long a worker's claim on a job lasts; a dead worker's jobs are taken over after it.
    job_lease_seconds: float = Field(default=120.0, gt=0)
    #: Pin the main account's credentials (CI, scripts): a fresh database's main account is made with them, an
    #: existing one must have them (a start that disagrees is refused; ``loft rotate-token`` changes the token).
    #: The terminal tools read ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN`` instead (loft/terminal/options.py).
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    #: Key that encrypts secrets at rest (a Fernet key). Default: ``<data_dir>/secret.key``, made on first start.
    secret_key: SecretStr | None = None
    #: Per-segment SMS price by destination country; ``*`` is the fallback.
    sms_prices: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_SMS_PRICES))
    #: Price of one MMS by destination country; ``*`` is the fallback.
    mms_prices: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_MMS_PRICES))
    price_unit: str = "USD"
    #: PostgreSQL: seconds to open a connection, and to wait for a free one of the pool, before answering 503.
    database_connect_timeout: float = Field(default=5.0, gt=0, le=600)
    #: PostgreSQL: seconds to wait for the answer to a statement before answering 503 (0: no limit). Migrations
    #: run without it.
    database_statement_timeout: float = Field(default=10.0, ge=0, le=3600)
    #: PostgreSQL: connections each process keeps open at most (opened as needed, then kept). All processes of a
    #: deployment together must stay within the server's ``max_connections``: ``loft serve`` warns when they
    #: would not (docs/deployment.md).
    database_pool_size: int = Field(default=20, ge=1, le=1000)
    #: ``FULL`` makes every commit survive power loss, not just a crash of the process.
    sqlite_synchronous: str = "FULL"
    log_level: str = "info"
    #: ``text`` (default): uvicorn's lines and Loft's as they are; ``json``: one JSON object per line for every
    #: log record of every process (loft/logs.py).
    log_format: Literal["text", "json"] = "text"
    #: ``/metrics`` (Prometheus): ``open`` (default), ``off`` (no such route, no request metrics), or a bearer
    #: token of 16 characters or more that scrapes must send (loft/metrics.py).
    metrics: SecretStr = SecretStr("open")
    #: Networks Loft never connects to on a tenant's behalf (webhooks, callbacks, media): CIDRs and the names of
    #: :data:`loft.outbound.GROUPS`, comma-separated (see loft/outbound.py and docs/security.md).
    outbound_deny: str = "link-local,metadata"
    #: Failed authentications (about per minute) after which a client address is refused (429) and a SID's wrong
    #: attempts are slowed down; 0 turns that off (see loft/accounts/throttle.py).
    auth_failures_per_minute: int = Field(default=30, ge=0, le=1_000_000)
    #: How long fetching one media URL may take in all (connection, redirects and body), in seconds.
    media_fetch_seconds: float = Field(default=15.0, gt=0, le=300)
    #: Addresses of the proxies in front of Loft (comma-separated IPs or CIDR networks) whose
    #: ``X-Forwarded-Proto`` and ``X-Forwarded-For`` are believed. Default: none, the headers are ignored.
    trusted_proxies: str = ""
    #: Largest request body, in bytes: a larger ``Content-Length`` is answered 413 before the body is read, a
    #: chunked body is cut off at it (loft/kit/limits.py).
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=1 << 30)
    #: Largest request head (request line and headers), in bytes, and most headers: more is answered 431.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1 << 20)
    max_headers: int = Field(default=100, ge=8, le=10_000)
    #: Seconds a client has to send a whole request once its connection opens (or its last answer is sent): a
    #: connection that sends nothing, or drips its request, is closed after them (loft/serving.py).
    request_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    #: Connections one ``loft serve`` process holds open at most: past them, a new connection is answered 429 and
    #: closed, and the log says so once (not once per connection).
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)
    #: A TOML file of real carriers (SMPP, a Twilio relay) and the routes that send destinations to them; without
    #: it every message goes to the simulator (loft/delivery/carriers/plan.py, docs/carriers.md).
    carriers_file: str | None = None
    #: Which carriers this process runs (``loft serve`` sets it for the processes it starts): ``all``, only those
    #: with ``instances = "per-worker"``, or ``none`` (an API process that delivers nothing for carriers).
    carriers_here: Literal["all", "per-worker", "none"] = "all"

    @field_validator("account_sid", "auth_token", "secret_key", "database_url", "carriers_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``LOFT_AUTH_TOKEN=`` (exported empty, as shells and compose files do) means not set."""
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        from loft import startup

        if value is not None:
            startup.check_database_url(value)
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        from loft import startup

        if value is not None:
            startup.check_secret_key(value.get_secret_value(), "LOFT_SECRET_KEY")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.lower() not in {"critical", "error", "warning", "info", "debug", "trace"}:
            raise ValueError("LOFT_LOG_LEVEL must be critical, error, warning, info, debug or trace")
        return value.lower()

    @field_validator("account_sid")
    @classmethod
    def _account_sid_shape(cls, value: str | None) -> str | None:
        from loft.kit import sids

        if value is not None and not sids.is_sid(value, "AC"):
            raise ValueError("LOFT_ACCOUNT_SID must be 'AC' followed by 32 hex digits")
        return value

    @field_validator("outbound_deny")
    @classmethod
    def _outbound_networks(cls, value: str) -> str:
        from loft import outbound

        try:
            outbound.networks(value)
        except ValueError as exc:
            raise ValueError(f"LOFT_OUTBOUND_DENY: {exc}") from None
        return value
    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        import ipaddress

        networks = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"LOFT_TRUSTED_PROXIES: {item!r} is not an IP address or network (such as "
                                 "10.0.0.0/8)") from None
        return ",".join(networks)

    @field_validator("metrics")
    @classmethod
    def _metrics_access(cls, value: SecretStr) -> SecretStr:
        given = value.get_secret_value()
        if given not in ("open", "off") and (len(given) < 16 or any(c.isspace() for c in given)):
            raise ValueError("LOFT_METRICS must be 'open', 'off' or a bearer token of at least 16 characters "
                             "without spaces")
        return value

    @property
    def metrics_token(self) -> str | None:
        """The bearer token ``/metrics`` asks for (None: ``open`` or ``off``)."""
        given = self.metrics.get_secret_value()
        return None if given in ("open", "off") else given

    @property
    def metrics_on(self) -> bool:
        return self.metrics.get_secret_value() != "off"

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Options, then the environment, then the file named by ``LOFT_CONFIG`` (if any), then the defaults."""
        named = os.environ.get(CONFIG_VARIABLE)
        file = (ConfigFile(settings_cls, Path(named)),) if named else ()
        return init_settings, env_settings, dotenv_settings, file_secret_settings, *file

    @field_validator("processes", mode="before")
    @classmethod
    def _processes(cls, value: object) -> object:
        """A number from 1 to 64 (as a number, or as text: the environment's), or ``auto`` in any case."""
        if isinstance(value, str):
            text = value.strip()
            if text.lower() == "auto":
                return "auto"
            value = int(text) if text.isdigit() else None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
            raise ValueError("Must be a number of processes from 1 to 64, or auto")
        return value

    @property
    def api_processes(self) -> int:
        """How many API processes ``loft serve`` runs: ``processes``, or what ``auto`` picks for this database on
        this machine (:func:`loft.processes.auto_processes`)."""
        if self.processes != "auto":
            return self.processes
        from loft.processes import auto_processes

        return auto_processes(self.resolved_database_url)

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous_mode(cls, value: str) -> str:
        value = value.upper()
        if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("LOFT_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        return value

    @model_validator(mode="after")
    def _shared_database(self) -> Settings:
        url = self.resolved_database_url
        if url.startswith("sqlite") and (":memory:" in url or url.endswith(":///")):
            if self.delivery_processes:
                raise ValueError("LOFT_WORKER_PROCESSES needs a database other processes can open (a file or "
                                 "PostgreSQL)")
            if self.processes != "auto" and self.processes > 1:  # (auto is one process there)
                raise ValueError("LOFT_PROCESSES needs a database other processes can open (a file or PostgreSQL)")
        return self

    @field_validator("sender_mps")
    @classmethod
    def _rates(cls, value: dict[str, float] | str) -> dict[str, float] | str:
        if isinstance(value, str) and value not in ("unlimited", "twilio"):
            raise ValueError("LOFT_SENDER_MPS must be 'unlimited', 'twilio' or a JSON object of rates")
        return value

    @cached_property
    def rates(self) -> dict[str, float]:
        """Messages per second by sender type (none: unlimited); read on every send, worked out once."""
        from loft.delivery.pacing import TWILIO_RATES

        if self.sender_mps == "unlimited":
            return {}
        if self.sender_mps == "twilio":
            return dict(TWILIO_RATES)
        assert isinstance(self.sender_mps, dict)
        return self.sender_mps

    @property
    def delivery_processes(self) -> int:
        """How many ``loft worker`` processes ``loft serve`` starts (0: it delivers in its own process, if at all)."""
        return self.worker_processes if self.workers else 0

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one with its driver (asyncpg for PostgreSQL), or SQLite in the data dir."""
        url = self.database_url
        if not url:
            return f"sqlite:///{(self.data_dir / 'loft.db').resolve()}"
        for prefix, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite+aiosqlite://", "sqlite://"),  # SQLite runs on the standard sqlite3 module (see loft.db.engine)
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url


class ConfigFile(TomlConfigSettingsSource):
    """The TOML settings file: every ``LOFT_*`` setting, by its name without ``LOFT_`` in lower case.

    A file that is missing or unreadable, is not TOML, or has a key that names no setting (a typo would otherwise
    be a setting silently left at its default) raises :class:`~loft.errors.ConfigurationError` with one line that
    names the file and the key."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        if not path.is_file():
            raise ConfigurationError(f"{CONFIG_VARIABLE}: {path} is not a file")
        try:
            super().__init__(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigurationError(f"{CONFIG_VARIABLE}: cannot read {path}: {exc.strerror or exc}") from None
        known = settings_cls.model_fields
        for key in self.toml_data:
            if key not in known:
                close = difflib.get_close_matches(key.lower().removeprefix("loft_"), known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigurationError(f"{path}: unknown setting '{key}'{hint}; the keys are the LOFT_* "
                                         "variables' names without LOFT_, in lower case (docs/configuration.md)")
