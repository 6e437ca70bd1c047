"""How Loft's processes log: as uvicorn and Python do by default (``LOFT_LOG_FORMAT=text``), or one JSON object
per line (``json``) for a log collector.

In JSON every record of the process — uvicorn's server and access lines, Loft's own (``loft.*``), and any library's
that reach the root logger — is one line on standard error::

    {"time": "2026-12-04T21:03:05.123Z", "level": "INFO", "logger": "uvicorn.access", "message": "127.0.0.1:50312 -
     \\"POST /2010-04-01/Accounts/AC…/Messages.json HTTP/1.1\\" 201", "client": "127.0.0.1:50312", "method": "POST",
     "path": "/2010-04-01/Accounts/AC…/Messages.json", "http_version": "1.1", "status": 201}

``time`` is UTC to the millisecond; ``exception`` holds a record's traceback, if it has one. The encoder escapes
whatever a client controls (a path with a line break in it stays on its line) and writes ASCII only, so a line
is valid JSON whatever bytes the client sent. The same records are logged in both formats: uvicorn's at
``LOFT_LOG_LEVEL``, everything else from ``WARNING`` up (as Python's last-resort handler shows them in text).

A path may hold a secret: the Bot Framework connector's key (``/loft/botframework/{BotSid}/{Key}/…``: a bot in
botbuilder's local mode sends no credentials but its ``serviceUrl``). Access lines show it as ``…`` in both
formats (:class:`HiddenSecrets`).
"""

from __future__ import annotations

import copy
import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any

#: uvicorn's access records carry these, in this order, as their arguments.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
#: The parts of request paths that are credentials, hidden in access lines.
_SECRET_IN_PATH = re.compile(r"^(/loft/botframework/[^/?]+/)[^/?]+")


class HiddenSecrets(logging.Filter):
    """Hides the secrets of request paths (:data:`_SECRET_IN_PATH`) in uvicorn's access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == len(_ACCESS_FIELDS) \
                and isinstance(record.args[2], str):
            hidden = _SECRET_IN_PATH.sub(r"\1…", record.args[2])
            if hidden != record.args[2]:
                record.args = (*record.args[:2], hidden, *record.args[3:])
        return True


class JsonFormatter(logging.Formatter):
    """One log record as one line of JSON (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == len(_ACCESS_FIELDS):
            line.update(zip(_ACCESS_FIELDS, record.args))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def config(log_format: str, level: str) -> dict[str, Any] | None:
    """The ``logging.config.dictConfig`` of a process for ``log_format`` (uvicorn's own for its loggers, at
    ``level``); None for ``text``: leave logging as it is (uvicorn configures its own loggers)."""
    if log_format != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    uvicorn = {"handlers": ["json"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,  # Loft's modules have made theirs already
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"secrets": {"()": HiddenSecrets}},
        "handlers": {"json": handler},
        "loggers": {"uvicorn": uvicorn, "uvicorn.error": {"level": level.upper()},
                    "uvicorn.access": {**uvicorn, "filters": ["secrets"]}},
        "root": {"handlers": ["json"], "level": "WARNING"},
    }


def server_config(log_format: str, level: str, uvicorns: dict[str, Any]) -> dict[str, Any]:
    """The logging configuration of ``loft serve``: :func:`config`, or for ``text`` uvicorn's own (``uvicorns``),
    access lines filtered by :class:`HiddenSecrets` in both."""
    wanted = config(log_format, level)
    if wanted is not None:
        return wanted
    text = copy.deepcopy(uvicorns)
    text.setdefault("filters", {})["secrets"] = {"()": HiddenSecrets}
    access = text.setdefault("loggers", {}).setdefault("uvicorn.access", {})
    access["filters"] = [*access.get("filters", []), "secrets"]
    return text


def configure(log_format: str, level: str) -> None:
    """Set this process's logging up for ``log_format`` (for processes that do not run uvicorn: ``loft worker``)."""
    wanted = config(log_format, level)
    if wanted is not None:
        logging.config.dictConfig(wanted)
