"""Settings, read from ``LOFT_*`` environment variables.

Secrets are ``SecretStr``: their ``repr`` and ``str`` never show the value, so a settings object can be
logged safely.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    port: int = 8080
    #: Pin the main account's credentials (CI, scripts). Both or neither.
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    #: Key that encrypts secrets at rest (a Fernet key). Default: ``<data_dir>/secret.key``, made on first start.
    secret_key: SecretStr | None = None
    #: Per-segment SMS price by destination country; ``*`` is the fallback.
    sms_prices: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_SMS_PRICES))
    #: Price of one MMS by destination country; ``*`` is the fallback.
    mms_prices: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_MMS_PRICES))
    price_unit: str = "USD"
    #: ``FULL`` makes every commit survive power loss, not just a crash of the process.
    sqlite_synchronous: str = "FULL"
    log_level: str = "info"

    @field_validator("account_sid")
    @classmethod
    def _account_sid_shape(cls, value: str | None) -> str | None:
        from loft.kit import sids

        if value is not None and not sids.is_sid(value, "AC"):
            raise ValueError("LOFT_ACCOUNT_SID must be 'AC' followed by 32 hex digits")
        return value

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous_mode(cls, value: str) -> str:
        value = value.upper()
        if value not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("LOFT_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one with an async driver, or SQLite in the data dir."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'loft.db').resolve()}"
        for prefix, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        return url
