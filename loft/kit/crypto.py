"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with one key per installation.

The key comes from ``LOFT_SECRET_KEY`` or from ``<data_dir>/secret.key``, created (mode 0600) on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from loft.errors import ConfigurationError

_OPENED_MAX = 10_000


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._key = key
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError("the secret key is not a valid Fernet key (32 url-safe base64 bytes)") from exc
        #: Sealed → opened, for the secrets read on every request (auth tokens): decrypting costs more than
        #: the rest of a credential check. Bounded; the plain secrets are in this process's memory anyway.
        self._opened: dict[str, str] = {}

    @classmethod
    def load(cls, *, key: str | None, data_dir: Path) -> SecretBox:
        if key:
            return cls(key.encode())
        path = data_dir / "secret.key"
        if path.exists():
            return cls(path.read_bytes().strip())
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # it will hold the database too (loft.db.files)
        new_key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_key)
        return cls(new_key)

    def derive(self, purpose: str) -> bytes:
        """A key of its own for ``purpose`` (e.g. signing console sessions), derived from, never equal to, this
        box's key."""
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).digest()

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        opened = self._opened.get(sealed)
        if opened is not None:
            return opened
        try:
            opened = self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ConfigurationError("a stored secret cannot be decrypted: is this the right secret key?") from exc
        if len(self._opened) >= _OPENED_MAX:
            self._opened.clear()
        self._opened[sealed] = opened
        return opened


def digest(secret: str) -> str:
    """A one-way hash for secrets that are only ever compared (API key secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
