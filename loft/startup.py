"""What the ``loft`` commands check before they create anything, and how they tell a mistake.

A start that cannot succeed stops with one or two lines on standard error that name the setting and the fix,
exit status 1 and no traceback, and it leaves behind nothing that was not there: no data dir, no database file,
no secret key, no account. ``loft serve`` checks, in this order:

1. the settings (pydantic validators in :mod:`loft.config`, so that every source of settings gets them);
2. the port: something else listening there stops the server before it touches the disk;
3. the data dir (and the directory of a SQLite file named by ``LOFT_DATABASE_URL``): a directory that can be
   written in, or one that can be made (tried with a directory made and removed at once);
4. PostgreSQL: it answers, the database exists, it lets the user in;
5. one ``loft serve`` per SQLite database: an ``flock`` of ``<database>-serve`` (the holder's pid in it), held as
   long as the server runs. Its ``--processes`` children and worker processes, and ``loft worker`` processes
   started by hand, take no part in it. On PostgreSQL many ``loft serve`` processes share a database by design
   (docs/deployment.md);
6. in :func:`loft.app.bootstrap`, after migrating: the secret key opens the database's secrets
   (:func:`secret_box`) and pinned credentials match the main account
   (:func:`loft.accounts.service.ensure_main`), inside the transaction that would create it.

``loft worker`` and ``loft credentials`` run the same checks but the port and the lock, and say the same lines.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import re
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from loft.errors import ConfigurationError, DatabaseUnavailable

log = logging.getLogger("loft.startup")

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from loft.config import Settings
    from loft.db.engine import Conn
    from loft.kit.crypto import SecretBox

#: Exit status of a start refused for a mistake in the settings or the machine.
EXIT_CODE = 1

#: The database URL schemes Loft runs on. ``postgres://`` is the older spelling libpq, asyncpg and many hosting
#: services use (SQLAlchemy refuses it): taken as PostgreSQL, as documented in docs/configuration.md.
SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgres", "postgresql+asyncpg")

#: Suffix of the lock file one ``loft serve`` holds beside its SQLite database.
SERVE_LOCK = "-serve"

_URL_HELP = "sqlite:///path/to/loft.db or postgresql://user:password@host:5432/name"


# Checks the settings run (pydantic validators: a ValueError's text is what the user reads) ---------------


def check_database_url(url: str) -> None:
    """A URL Loft can run on: SQLite or PostgreSQL, well formed (never quoting it: it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = url.split("://", 1)[0] if "://" in url else None
    if scheme is None:
        raise ValueError(f"LOFT_DATABASE_URL is not a database URL: use {_URL_HELP}")
    if scheme not in SCHEMES:
        raise ValueError(f"LOFT_DATABASE_URL: {scheme}:// is not supported: Loft runs on SQLite or PostgreSQL "
                         f"({_URL_HELP})")
    try:
        _ = make_url(url).port
    except (ArgumentError, ValueError):
        raise ValueError(f"LOFT_DATABASE_URL is not a valid URL (is the port a number?): use {_URL_HELP}") from None


def check_secret_key(key: str, where: str) -> None:
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError(f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); make one with: python -c "
                         "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'") from None


# How a refusal is told -----------------------------------------------------------------------------------


@contextmanager
def reported(flags: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn a startup mistake raised in the block into its lines on standard error and exit status 1.

    ``flags``: the command-line options that set a setting (``{"data_dir": "--data-dir"}``), named beside it.
    """
    try:
        yield
    except ConfigurationError as exc:
        refuse(str(exc))
    except (ValidationError, SettingsError) as exc:
        refuse(*settings_problems(exc, flags or {}))
    except DatabaseUnavailable as exc:  # it answered the check a moment ago
        refuse(f"The database is unavailable: {exc.reason} (check LOFT_DATABASE_URL, or LOFT_DATA_DIR for SQLite)")
    except OSError as exc:  # the disk refused what the checks expected to work (a full disk, a file's mode …)
        where = f" {exc.filename}" if exc.filename else ""
        refuse(f"Cannot start: {exc.strerror or exc}{where} (check LOFT_DATA_DIR and what it holds)")
    except Exception as exc:
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        refuse(f"The database cannot be used: {_first_line(exc.orig)} (check LOFT_DATABASE_URL, or LOFT_DATA_DIR for "
               "SQLite)")


def refuse(*lines: str) -> NoReturn:
    """Say why on standard error (red on a terminal, never wrapped) and exit with :data:`EXIT_CODE`."""
    from rich.console import Console

    err = Console(stderr=True)
    for line in lines:
        err.print(line, style="red", soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(EXIT_CODE)


def settings_problems(exc: ValidationError | SettingsError, flags: Mapping[str, str]) -> list[str]:
    """One line per invalid setting, named as it is set (``LOFT_PROCESSES``, and ``--processes`` when the
    command has it), without its value when that may be secret."""
    if isinstance(exc, SettingsError):  # a JSON setting that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        name = found[1] if found else ""
        return [f"{_setting(name, flags)}: not valid JSON (it takes a JSON object, e.g. {{\"US\": \"0.0079\"}})"]
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        setting = _setting(name, flags) if name else ""
        if not setting or message.startswith(f"LOFT_{name.upper()}"):
            lines.append(message)  # the validator named it already
            continue
        value = error.get("input")
        shown = f" is {value}" if name not in _SECRET and isinstance(value, (str, int, float)) \
            and len(str(value)) < 60 else ""
        lines.append(f"{setting}{shown}: {message[:1].lower()}{message[1:]}")
    return lines


#: Settings whose value is never repeated in a message.
_SECRET = frozenset({"auth_token", "secret_key", "database_url"})


def _setting(name: str, flags: Mapping[str, str]) -> str:
    env = f"LOFT_{name.upper()}"
    return f"{env} ({flags[name]})" if name in flags else env


def _first_line(value: object) -> str:
    return str(value).strip().splitlines()[0] if str(value).strip() else type(value).__name__


# The port --------------------------------------------------------------------------------------------------


def check_port(host: str, port: int) -> None:
    """Refuse a port something else listens on (a plain bind, as uvicorn's, would fail there too), before
    anything is created."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                            flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigurationError(f"LOFT_HOST (--host): {host} is not an address of this machine ({exc.strerror}): "
                                 "use 127.0.0.1, 0.0.0.0 or one of its addresses") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigurationError(_port_problem(host, port, exc)) from None


def _port_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"Port {port} on {host} is in use ({exc.strerror}): stop what listens there, or pick another port "
                f"with --port (LOFT_PORT)")
    if exc.errno == errno.EACCES:
        return (f"Port {port} on {host}: permission denied (ports below 1024 need privileges): pick another port "
                f"with --port (LOFT_PORT)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"LOFT_HOST (--host): {host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of "
                "its addresses")
    return f"Cannot listen on {host}:{port} ({exc.strerror or exc}): check --host and --port (LOFT_HOST, LOFT_PORT)"


# Directories -----------------------------------------------------------------------------------------------


def check_directories(settings: Settings) -> None:
    """The data dir, if this configuration uses it, and the directory of a SQLite file named by URL: each one a
    directory Loft can write in, or one it can make. Nothing is left behind by the check."""
    if settings.database_url is None or settings.secret_key is None:  # the database, or the secret key, is there
        _check_directory(settings.data_dir, "LOFT_DATA_DIR (--data-dir)")
    database = sqlite_file(settings)
    if settings.database_url is not None and database is not None:
        _check_directory(database.parent, "LOFT_DATABASE_URL")


def _check_directory(path: Path, setting: str) -> None:
    fix = "give a directory you can write in" if setting.startswith("LOFT_DATA_DIR") else "fix the path in the URL"
    path = path.absolute()
    if os.path.isdir(path):
        problem = _cannot_write_in(path)
        if problem is not None:
            raise ConfigurationError(f"{setting}: cannot write in {path} ({problem}): {fix}")
        return
    if os.path.lexists(path):
        raise ConfigurationError(f"{setting}: {path} is a file, not a directory: {fix}")
    existing = path.parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not os.path.isdir(existing):
        raise ConfigurationError(f"{setting}: cannot make {path}: {existing} is a file, not a directory: {fix}")
    problem = _cannot_write_in(existing)
    if problem is not None:
        raise ConfigurationError(f"{setting}: cannot make {path} ({problem} in {existing}): {fix}")


def _cannot_write_in(directory: Path) -> str | None:
    """Why no directory can be made in ``directory`` (None: one can). Tried for real, as permissions alone do not
    tell (root, read-only mounts, pseudo file systems), and removed at once."""
    try:
        probe = tempfile.mkdtemp(prefix=".loft-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.rmdir(probe)
    return None


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database file of these settings (None: PostgreSQL, or SQLite in memory)."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


# PostgreSQL ------------------------------------------------------------------------------------------------


async def check_database(settings: Settings) -> int | None:
    """PostgreSQL answers, has the database and lets the user in (one connection, closed at once); the connections
    it allows ordinary users (``max_connections`` less those reserved to superusers), for :func:`check_pools`.
    SQLite: nothing to check before opening it (None)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        return None
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": settings.database_connect_timeout})
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(text(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('max_connections', 'superuser_reserved_connections', 'reserved_connections')"))).all()
    except Exception as exc:
        raise ConfigurationError(postgres_problem(exc, make_url(url), settings.database_connect_timeout)) from None
    finally:
        await engine.dispose()
    limits = {str(name): int(value) for name, value in found}
    return limits["max_connections"] - limits.get("superuser_reserved_connections", 0) - limits.get(
        "reserved_connections", 0)


def check_pools(settings: Settings, allowed: int | None) -> None:
    """At a server's start on PostgreSQL: warn when its processes' pools, full, would hold more connections than
    the server allows (``allowed``): under load the last ones would be refused ("too many clients") and their
    requests answered 503. Other servers of the deployment share the same limit: the docs say how to count."""
    if allowed is None:
        return
    processes = settings.api_processes + settings.delivery_processes
    wanted = processes * settings.database_pool_size
    if wanted > allowed:
        log.warning("%d processes × LOFT_DATABASE_POOL_SIZE=%d may open %d connections to PostgreSQL, which allows "
                    "%d: lower LOFT_DATABASE_POOL_SIZE to %d or raise max_connections (docs/deployment.md)",
                    processes, settings.database_pool_size, wanted, allowed, max(1, allowed // processes))


def postgres_problem(exc: BaseException, url: URL, timeout: float) -> str:
    """What a failed connection to PostgreSQL means, and what to do (without the URL's password)."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    cause: BaseException = exc
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ or exc.orig if exc.orig is not None else exc
    host = url.host or str(url.query.get("host") or "localhost")
    port = url.port or 5432
    where = f"{host}:{port}"
    user = url.username or os.environ.get("PGUSER") or "(default)"
    name = url.database or user
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        return (f'LOFT_DATABASE_URL: PostgreSQL at {where} has no database "{name}": create it (createdb -h {host} '
                f"-p {port} -U {user} {name}), or name another in the URL")
    if isinstance(cause, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
        return (f'LOFT_DATABASE_URL: PostgreSQL at {where} does not let user "{user}" in ({_first_line(cause)}): '
                "check the user and password in the URL")
    if isinstance(cause, ConnectionRefusedError):
        return (f"LOFT_DATABASE_URL: nothing listens at {where} (connection refused): start PostgreSQL there, or "
                "fix the host and port in the URL")
    if isinstance(cause, socket.gaierror):
        return f"LOFT_DATABASE_URL: unknown host {host} ({cause.strerror}): fix the host in the URL"
    if isinstance(cause, (TimeoutError, asyncio.TimeoutError)):
        return (f"LOFT_DATABASE_URL: no answer from {where} within {timeout:g} s (LOFT_DATABASE_CONNECT_TIMEOUT): "
                "is PostgreSQL running there, and reachable from here?")
    if isinstance(cause, OSError):
        return f"LOFT_DATABASE_URL: cannot connect to PostgreSQL at {where} ({cause.strerror or _first_line(cause)})"
    return f"LOFT_DATABASE_URL: PostgreSQL at {where} refused the connection: {_first_line(cause)}"


# One loft serve per SQLite database ----------------------------------------------------------------------


def hold_serve_lock(settings: Settings) -> int | None:
    """Take the lock of ``loft serve`` on its SQLite database, for as long as this process lives (the returned
    descriptor stays open; the kernel lets go when the process ends, however it ends). None on PostgreSQL."""
    from loft.db import files

    database = sqlite_file(settings)
    if database is None:
        return None
    files.private_dir(database.parent)
    lock = f"{database}{SERVE_LOCK}"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children (Python's default)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        where = "LOFT_DATA_DIR (--data-dir)" if settings.database_url is None else "LOFT_DATABASE_URL"
        raise ConfigurationError(
            f"Another loft serve (pid {holder or 'unknown'}) is serving {database}: stop it first, or give this "
            f"one another {where}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


# The secret key --------------------------------------------------------------------------------------------


async def secret_box(conn: Conn, settings: Settings) -> SecretBox:
    """The key that seals this database's secrets: ``LOFT_SECRET_KEY``, else ``<data dir>/secret.key``, made
    only for a database that holds no account yet. Refused: no key for a database that has secrets, or a key
    that did not seal them (found by opening the main account's token)."""
    from loft.accounts import service
    from loft.kit.crypto import SecretBox

    sealed = await service.sealed_main_token(conn)
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    path = settings.data_dir.absolute() / "secret.key"
    source = "LOFT_SECRET_KEY" if key else f"The key in {path}"
    if sealed is not None and key is None and not path.exists():
        raise ConfigurationError(
            f"LOFT_SECRET_KEY is not set and {path} does not exist, but the database holds secrets sealed with a "
            "key: set LOFT_SECRET_KEY to that key (or put its secret.key back)")
    if key is None and path.exists():
        try:
            check_secret_key(path.read_text(errors="replace").strip(), str(path))
        except ValueError:
            raise ConfigurationError(f"{path} is not a Fernet key (32 url-safe base64-encoded bytes): put back the "
                                     "key this data was made with, or set LOFT_SECRET_KEY to it") from None
    box = SecretBox.load(key=key, data_dir=settings.data_dir)
    if sealed is not None:
        try:
            box.open(sealed)
        except ConfigurationError:
            raise ConfigurationError(
                f"{source} is not the key that sealed this database's secrets: set LOFT_SECRET_KEY to the key it "
                "was made with") from None
    return box
