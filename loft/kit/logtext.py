"""Client-controlled text made safe for a log line.

A path, a parameter or a database's error message written into a log as it came would let a client forge log
lines: uvicorn decodes ``%0A`` in a path to a newline, so ``GET /x%0A2025-01-01 INFO admin signed in`` logs two
lines, the second one the client's. :func:`printable` writes every character ``str.isprintable`` refuses (line
breaks, other control characters, Unicode's line and paragraph separators) as its Python escape (``\\n``,
``\\x1b``, ``\\u2028``); everything else, accented letters included, is left as it is.

uvicorn's access log needs none of it: it writes the path as it was sent (``%0A`` stays ``%0A``), and httptools
refuses a request line with a raw control character (or any byte past ASCII) in it.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` on one line: each unprintable character as its escape (``\\n``, ``\\x00``, ``\\u2028``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
