"""The GSM 03.38 default alphabet as SMPP carries it: one septet per octet ("unpacked"), escapes for the extension.

:func:`encode` writes text that :func:`loft.kit.segments.is_gsm7` accepts (every character in the basic or the
extension table); an extension character becomes ESC (0x1B) and its code, two septets, exactly as
:mod:`loft.kit.segments` counts it. :func:`decode` reads what an SMSC sends with ``data_coding`` 0: an escape
followed by a code the extension table lacks reads as the basic table's character (GSM 03.38 §6.2.1.1), and an
octet above 0x7F, which no septet is, reads as U+FFFD.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ESCAPE", "decode", "encode"]

ESCAPE: Final = 0x1B

#: The basic table, by code (0x1B, the escape, reads as a space where it ends a message).
_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: the code that follows an escape.
_EXTENSION: Final = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E,
                     "|": 0x40, "€": 0x65}

_ENCODE: Final = {char: bytes([code]) for code, char in enumerate(_BASIC) if code != ESCAPE} | {
    char: bytes([ESCAPE, code]) for char, code in _EXTENSION.items()}
_EXTENDED: Final = {code: char for char, code in _EXTENSION.items()}

assert len(_BASIC) == 128


def encode(text: str) -> bytes:
    """``text`` in unpacked GSM 03.38 septets; :class:`ValueError` naming the first character the alphabet lacks."""
    try:
        return b"".join([_ENCODE[char] for char in text])
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the GSM 03.38 alphabet") from None


def _basic(octet: int) -> str:
    if octet >= 0x80:
        return "\ufffd"
    return " " if octet == ESCAPE else _BASIC[octet]  # two escapes: a table Loft does not know


def decode(septets: bytes) -> str:
    """Unpacked GSM 03.38 septets as text."""
    chars: list[str] = []
    escaped = False
    for octet in septets:
        if escaped:
            escaped = False
            chars.append(_EXTENDED.get(octet) or _basic(octet))
        elif octet == ESCAPE:
            escaped = True
        else:
            chars.append(_basic(octet))
    if escaped:
        chars.append(" ")
    return "".join(chars)
