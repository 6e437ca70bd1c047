"""Random hex strings for identifiers and tokens, drawn from the operating system's CSPRNG in bulk.

``os.urandom`` is one ``getrandom`` system call per draw; a message draws three or four values (its SID, the
idempotency tokens of its status callbacks), each of a few bytes. This module draws 4 KiB at a time and hands
out slices: the same bytes ``secrets.token_hex`` would give, a system call per few hundred draws. Each slice is
handed out once (a lock guards the buffer against threads), and a forked child starts with an empty buffer so
that parent and child never share bytes.
"""

from __future__ import annotations

import os
import threading

_CHUNK = 4096
_lock = threading.Lock()
_buffer = b""
_offset = 0


def hex(size: int) -> str:
    """``size`` random bytes as ``2 * size`` lowercase hex digits (like ``secrets.token_hex(size)``)."""
    global _buffer, _offset
    with _lock:
        if _offset + size > len(_buffer):
            _buffer, _offset = os.urandom(max(_CHUNK, size)), 0
        start, _offset = _offset, _offset + size
        return _buffer[start:_offset].hex()


def _forget() -> None:
    global _buffer, _offset
    _buffer, _offset = b"", 0


os.register_at_fork(after_in_child=_forget)
