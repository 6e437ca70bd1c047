"""How many SMS segments a body costs, counted the way Twilio counts them.

The rules follow Twilio's own segment calculator (github.com/TwilioDevEd/message-segment-calculator):

* **Encoding.** A body is GSM-7 when every character is in the GSM 03.38 basic table or its extension table;
  a single character outside both makes the *whole* body UCS-2. The basic table is
  ``@£$¥èéùìòÇ LF Øø CR ÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ SP !"#¤%&'()*+,-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà``; the extension table is
  ``^ { } \\ [ ~ ] | €`` and form feed (U+000C). Note that the ASCII backtick and most ASCII control characters
  (TAB included) are *not* GSM-7, and that the escape character itself (U+001B) is not accepted as text.
* **Units.** A basic character is one septet; an extension character is sent as ESC + code, so it costs two
  septets. In UCS-2 every UTF-16 code unit counts, so a character outside the Basic Multilingual Plane (most
  emoji) costs two.
* **Segment sizes.** An SMS carries 140 octets. A body that fits in one message gets all of them: 160 septets or
  70 UCS-2 code units. A longer body is sent as a concatenated message, and each part gives up 6 octets to the
  User Data Header, leaving 153 septets or 67 code units per segment.
* **Filling.** Segments are filled character by character; when the next character does not fit in what is left
  of the current segment, a new segment starts. An escape pair (extension character) or a surrogate pair (astral
  character) is therefore never split: ``152 * "a" + "€" + ...`` leaves the 153rd septet of the first segment
  empty. Twilio's calculator goes one step further and never splits a grapheme cluster (a ZWJ emoji family, a
  flag, a base letter plus combining marks); the standard library has no grapheme segmentation, so this module
  only keeps surrogate pairs together, which matches the calculator for every body without multi-code-point
  clusters straddling a segment boundary.
* **Empty body.** Counts as one GSM-7 segment of zero units.

:func:`smart_encode` emulates Twilio's *Smart Encoding*: Unicode look-alikes that are not GSM-7 (curly quotes,
dashes, exotic spaces, fullwidth forms, ...) are replaced with GSM-7 equivalents, following the calculator's
``SmartEncodingMap`` with a few corrections and additions (see ``_SMART_MAP``). Everything else, emoji and CJK
included, is left alone, so the caller still has to check :func:`is_gsm7` on the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "GSM7_MULTI",
    "GSM7_SINGLE",
    "UCS2_MULTI",
    "UCS2_SINGLE",
    "Encoding",
    "SegmentInfo",
    "analyse",
    "count",
    "is_gsm7",
    "smart_encode",
]

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67

_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")
_GSM7: Final = _GSM7_BASIC | _GSM7_EXTENSION


def _char_class(chars: frozenset[str]) -> str:
    return "".join(re.escape(c) for c in sorted(chars))


_NON_GSM7_RE: Final = re.compile(f"[^{_char_class(_GSM7)}]")
_GSM7_ASCII_BYTES: Final = "".join(sorted(char for char in _GSM7 if char.isascii())).encode("ascii")
_ESCAPE_PAIRS: Final = tuple((char, "\x1b" + char) for char in sorted(_GSM7_EXTENSION))
_EXTENSION_RE: Final = re.compile(f"[{_char_class(_GSM7_EXTENSION)}]")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """The encoding of a body, how many SMS segments it needs, and its size in that encoding's units."""

    encoding: Encoding
    segments: int
    """Number of SMS segments; an empty body counts as 1 segment."""
    units: int
    """Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole body."""


def is_gsm7(body: str) -> bool:
    """True when every character of ``body`` is in the GSM-7 basic or extension table."""
    if body.isascii():
        # Fast path for the common case: delete the GSM-7 bytes from the ASCII bytes and see if anything is left.
        return not body.encode("ascii").translate(None, _GSM7_ASCII_BYTES)
    return _NON_GSM7_RE.search(body) is None


def _fill(units: int, multi: int, pair_at: Callable[[int], bool]) -> int:
    """Segments of ``multi`` units needed for ``units`` units when two-unit characters are never split.

    ``pair_at(offset)`` tells whether a two-unit character (escape pair, surrogate pair) starts at that unit
    offset. Only segment boundaries are visited, never individual characters.
    """
    segments = 0
    start = 0
    last = multi - 1
    while True:
        segments += 1
        if units - start <= multi:
            return segments
        # A pair starting in the last unit of a segment does not fit there: it opens the next segment instead.
        start += last if pair_at(start + last) else multi


def analyse(body: str) -> SegmentInfo:
    """Encoding, segment count and unit count of ``body`` (see the module docstring for the rules)."""
    length = len(body)
    if is_gsm7(body):
        # Spell extension characters as the ESC + code pair they are sent as: one char per septet.
        septets = body
        if _EXTENSION_RE.search(body) is not None:  # (one search: most bodies have none)
            for char, pair in _ESCAPE_PAIRS:
                if char in septets:
                    septets = septets.replace(char, pair)
        units = len(septets)
        if units <= GSM7_SINGLE:
            return SegmentInfo("GSM-7", 1, units)
        if units == length:
            return SegmentInfo("GSM-7", -(-units // GSM7_MULTI), units)
        return SegmentInfo("GSM-7", _fill(units, GSM7_MULTI, lambda offset: septets[offset] == "\x1b"), units)
    code_units = body.encode("utf-16-le", "surrogatepass")
    units = len(code_units) >> 1
    if units <= UCS2_SINGLE:
        return SegmentInfo("UCS-2", 1, units)
    if units == length:
        return SegmentInfo("UCS-2", -(-units // UCS2_MULTI), units)

    def surrogate_pair_at(offset: int) -> bool:
        # High byte of the unit at offset is a high surrogate (D8-DB), the next one a low surrogate (DC-DF).
        return code_units[2 * offset + 1] & 0xFC == 0xD8 and code_units[2 * offset + 3] & 0xFC == 0xDC

    return SegmentInfo("UCS-2", _fill(units, UCS2_MULTI, surrogate_pair_at), units)


def count(body: str) -> int:
    """Number of SMS segments ``body`` needs; the same as ``analyse(body).segments``."""
    return analyse(body).segments


# Twilio's Smart Encoding map, after the calculator's SmartEncodingMap.ts. Deviations, all deliberate:
# * NBSP and the other wide spaces become ONE space (the calculator writes two), TAB becomes one space (it writes
#   seven), and the single angle quotes map to the matching < and > (the calculator swaps them);
# * U+FF01-U+FF5E map to their ASCII counterparts as a block (adds fullwidth a-z; fullwidth ` becomes ');
# * added: non-breaking hyphen, figure dash, minus sign, primes, broken bar, soft hyphen (removed), fullwidth
#   white parentheses, and zero-width (non-)joiners (removed, but see _JOINER_RE).
_SMART_MAP: Final[dict[str, str]] = {
    # double quotes
    "\u00ab": '"',  # « LEFT-POINTING DOUBLE ANGLE QUOTATION MARK
    "\u00bb": '"',  # » RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK
    "\u201c": '"',  # “ LEFT DOUBLE QUOTATION MARK
    "\u201d": '"',  # ” RIGHT DOUBLE QUOTATION MARK
    "\u201e": '"',  # „ DOUBLE LOW-9 QUOTATION MARK
    "\u201f": '"',  # ‟ DOUBLE HIGH-REVERSED-9 QUOTATION MARK
    "\u02ba": '"',  # ʺ MODIFIER LETTER DOUBLE PRIME
    "\u02ee": '"',  # ˮ MODIFIER LETTER DOUBLE APOSTROPHE
    "\u2033": '"',  # ″ DOUBLE PRIME (added)
    "\u275d": '"',  # ❝ HEAVY DOUBLE TURNED COMMA QUOTATION MARK ORNAMENT
    "\u275e": '"',  # ❞ HEAVY DOUBLE COMMA QUOTATION MARK ORNAMENT
    "\u301d": '"',  # 〝 REVERSED DOUBLE PRIME QUOTATION MARK
    "\u301e": '"',  # 〞 DOUBLE PRIME QUOTATION MARK
    # single quotes and accents
    "\u0060": "'",  # ` GRAVE ACCENT (ASCII, but not GSM-7)
    "\u00b4": "'",  # ´ ACUTE ACCENT
    "\u2018": "'",  # ‘ LEFT SINGLE QUOTATION MARK
    "\u2019": "'",  # ’ RIGHT SINGLE QUOTATION MARK
    "\u201b": "'",  # ‛ SINGLE HIGH-REVERSED-9 QUOTATION MARK
    "\u2032": "'",  # ′ PRIME (added)
    "\u02b9": "'",  # ʹ MODIFIER LETTER PRIME
    "\u02bb": "'",  # ʻ MODIFIER LETTER TURNED COMMA
    "\u02bc": "'",  # ʼ MODIFIER LETTER APOSTROPHE
    "\u02bd": "'",  # ʽ MODIFIER LETTER REVERSED COMMA
    "\u02c8": "'",  # ˈ MODIFIER LETTER VERTICAL LINE
    "\u02ca": "'",  # ˊ MODIFIER LETTER ACUTE ACCENT
    "\u02cb": "'",  # ˋ MODIFIER LETTER GRAVE ACCENT
    "\u0313": "'",  # COMBINING COMMA ABOVE
    "\u0314": "'",  # COMBINING REVERSED COMMA ABOVE
    "\u2017": "'",  # ‗ DOUBLE LOW LINE (as the calculator has it)
    "\u275b": "'",  # ❛ HEAVY SINGLE TURNED COMMA QUOTATION MARK ORNAMENT
    "\u275c": "'",  # ❜ HEAVY SINGLE COMMA QUOTATION MARK ORNAMENT
    "\ufe10": "'",  # ︐ PRESENTATION FORM FOR VERTICAL COMMA
    "\ufe11": "'",  # ︑ PRESENTATION FORM FOR VERTICAL IDEOGRAPHIC COMMA
    # angle quotes
    "\u2039": "<",  # ‹ SINGLE LEFT-POINTING ANGLE QUOTATION MARK
    "\u203a": ">",  # › SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
    # dashes, hyphens, bullets
    "\u2010": "-",  # ‐ HYPHEN
    "\u2011": "-",  # ‑ NON-BREAKING HYPHEN (added)
    "\u2012": "-",  # ‒ FIGURE DASH (added)
    "\u2013": "-",  # – EN DASH
    "\u2014": "-",  # — EM DASH
    "\u2015": "-",  # ― HORIZONTAL BAR
    "\u2022": "-",  # • BULLET
    "\u2043": "-",  # ⁃ HYPHEN BULLET
    "\u2212": "-",  # − MINUS SIGN (added)
    "\u23bc": "-",  # ⎼ HORIZONTAL SCAN LINE-7
    "\u23bd": "-",  # ⎽ HORIZONTAL SCAN LINE-9
    "\ufe63": "-",  # ﹣ SMALL HYPHEN-MINUS
    # slashes, bars, lines
    "\u00f7": "/",  # ÷ DIVISION SIGN
    "\u0337": "/",  # COMBINING SHORT SOLIDUS OVERLAY
    "\u0338": "/",  # COMBINING LONG SOLIDUS OVERLAY
    "\u2044": "/",  # ⁄ FRACTION SLASH
    "\u2215": "/",  # ∕ DIVISION SLASH
    "\u29f8": "/",  # ⧸ BIG SOLIDUS
    "\u20e5": "\\",  # COMBINING REVERSE SOLIDUS OVERLAY
    "\u29f5": "\\",  # ⧵ REVERSE SOLIDUS OPERATOR
    "\u29f9": "\\",  # ⧹ BIG REVERSE SOLIDUS
    "\ufe68": "\\",  # ﹨ SMALL REVERSE SOLIDUS
    "\u0332": "_",  # COMBINING LOW LINE
    "\u00a6": "|",  # ¦ BROKEN BAR (added)
    "\u20d2": "|",  # COMBINING LONG VERTICAL LINE OVERLAY
    "\u20d3": "|",  # COMBINING SHORT VERTICAL LINE OVERLAY
    "\u2223": "|",  # ∣ DIVIDES
    "\u239c": "|",  # ⎜ LEFT PARENTHESIS EXTENSION
    "\u239f": "|",  # ⎟ RIGHT PARENTHESIS EXTENSION
    "\u23b8": "|",  # ⎸ LEFT VERTICAL BOX LINE
    "\u23b9": "|",  # ⎹ RIGHT VERTICAL BOX LINE
    "\u23d0": "|",  # ⏐ VERTICAL LINE EXTENSION
    # fractions and other multi-character replacements
    "\u00bc": "1/4",  # ¼
    "\u00bd": "1/2",  # ½
    "\u00be": "3/4",  # ¾
    "\u2026": "...",  # … HORIZONTAL ELLIPSIS
    "\u203c": "!!",  # ‼ DOUBLE EXCLAMATION MARK
    # small forms and other punctuation look-alikes
    "\ufe6b": "@",  # ﹫ SMALL COMMERCIAL AT
    "\ufe69": "$",  # ﹩ SMALL DOLLAR SIGN
    "\u01c3": "!",  # ǃ LATIN LETTER RETROFLEX CLICK
    "\ufe15": "!",  # ︕ PRESENTATION FORM FOR VERTICAL EXCLAMATION MARK
    "\ufe57": "!",  # ﹗ SMALL EXCLAMATION MARK
    "\ufe5f": "#",  # ﹟ SMALL NUMBER SIGN
    "\ufe6a": "%",  # ﹪ SMALL PERCENT SIGN
    "\ufe60": "&",  # ﹠ SMALL AMPERSAND
    "\u201a": ",",  # ‚ SINGLE LOW-9 QUOTATION MARK
    "\u0326": ",",  # COMBINING COMMA BELOW
    "\u3001": ",",  # 、 IDEOGRAPHIC COMMA
    "\ufe50": ",",  # ﹐ SMALL COMMA
    "\ufe51": ",",  # ﹑ SMALL IDEOGRAPHIC COMMA
    "\uff64": ",",  # ､ HALFWIDTH IDEOGRAPHIC COMMA
    "\u2768": "(",  # ❨ MEDIUM LEFT PARENTHESIS ORNAMENT
    "\u276a": "(",  # ❪ MEDIUM FLATTENED LEFT PARENTHESIS ORNAMENT
    "\u27ee": "(",  # ⟮ MATHEMATICAL LEFT FLATTENED PARENTHESIS
    "\u2985": "(",  # ⦅ LEFT WHITE PARENTHESIS
    "\ufe59": "(",  # ﹙ SMALL LEFT PARENTHESIS
    "\uff5f": "(",  # ｟ FULLWIDTH LEFT WHITE PARENTHESIS (added)
    "\u2769": ")",  # ❩ MEDIUM RIGHT PARENTHESIS ORNAMENT
    "\u276b": ")",  # ❫ MEDIUM FLATTENED RIGHT PARENTHESIS ORNAMENT
    "\u27ef": ")",  # ⟯ MATHEMATICAL RIGHT FLATTENED PARENTHESIS
    "\u2986": ")",  # ⦆ RIGHT WHITE PARENTHESIS
    "\ufe5a": ")",  # ﹚ SMALL RIGHT PARENTHESIS
    "\uff60": ")",  # ｠ FULLWIDTH RIGHT WHITE PARENTHESIS (added)
    "\u204e": "*",  # ⁎ LOW ASTERISK
    "\u2217": "*",  # ∗ ASTERISK OPERATOR
    "\u229b": "*",  # ⊛ CIRCLED ASTERISK OPERATOR
    "\u2722": "*",  # ✢ FOUR TEARDROP-SPOKED ASTERISK
    "\u2723": "*",  # ✣ FOUR BALLOON-SPOKED ASTERISK
    "\u2724": "*",  # ✤ HEAVY FOUR BALLOON-SPOKED ASTERISK
    "\u2725": "*",  # ✥ FOUR CLUB-SPOKED ASTERISK
    "\u2731": "*",  # ✱ HEAVY ASTERISK
    "\u2732": "*",  # ✲ OPEN CENTRE ASTERISK
    "\u2733": "*",  # ✳ EIGHT SPOKED ASTERISK
    "\u273a": "*",  # ✺ SIXTEEN POINTED ASTERISK
    "\u273b": "*",  # ✻ TEARDROP-SPOKED ASTERISK
    "\u273c": "*",  # ✼ OPEN CENTRE TEARDROP-SPOKED ASTERISK
    "\u273d": "*",  # ✽ HEAVY TEARDROP-SPOKED ASTERISK
    "\u2743": "*",  # ❃ HEAVY TEARDROP-SPOKED PINWHEEL ASTERISK
    "\u2749": "*",  # ❉ BALLOON-SPOKED ASTERISK
    "\u274a": "*",  # ❊ EIGHT TEARDROP-SPOKED PROPELLER ASTERISK
    "\u274b": "*",  # ❋ HEAVY EIGHT TEARDROP-SPOKED PROPELLER ASTERISK
    "\u29c6": "*",  # ⧆ SQUARED ASTERISK
    "\ufe61": "*",  # ﹡ SMALL ASTERISK
    "\u02d6": "+",  # ˖ MODIFIER LETTER PLUS SIGN
    "\ufe62": "+",  # ﹢ SMALL PLUS SIGN
    "\u3002": ".",  # 。 IDEOGRAPHIC FULL STOP
    "\ufe52": ".",  # ﹒ SMALL FULL STOP
    "\uff61": ".",  # ｡ HALFWIDTH IDEOGRAPHIC FULL STOP
    "\u02d0": ":",  # ː MODIFIER LETTER TRIANGULAR COLON
    "\u02f8": ":",  # ˸ MODIFIER LETTER RAISED COLON
    "\u2982": ":",  # ⦂ Z NOTATION TYPE COLON
    "\ua789": ":",  # ꞉ MODIFIER LETTER COLON
    "\ufe13": ":",  # ︓ PRESENTATION FORM FOR VERTICAL COLON
    "\u204f": ";",  # ⁏ REVERSED SEMICOLON
    "\ufe14": ";",  # ︔ PRESENTATION FORM FOR VERTICAL SEMICOLON
    "\ufe54": ";",  # ﹔ SMALL SEMICOLON
    "\ufe64": "<",  # ﹤ SMALL LESS-THAN SIGN
    "\u0347": "=",  # COMBINING EQUALS SIGN BELOW
    "\ua78a": "=",  # ꞊ MODIFIER LETTER SHORT EQUALS SIGN
    "\ufe66": "=",  # ﹦ SMALL EQUALS SIGN
    "\ufe65": ">",  # ﹥ SMALL GREATER-THAN SIGN
    "\ufe16": "?",  # ︖ PRESENTATION FORM FOR VERTICAL QUESTION MARK
    "\ufe56": "?",  # ﹖ SMALL QUESTION MARK
    "\u02c6": "^",  # ˆ MODIFIER LETTER CIRCUMFLEX ACCENT
    "\u0302": "^",  # COMBINING CIRCUMFLEX ACCENT
    "\u1dcd": "^",  # COMBINING DOUBLE CIRCUMFLEX ABOVE
    "\u2774": "{",  # ❴ MEDIUM LEFT CURLY BRACKET ORNAMENT
    "\ufe5b": "{",  # ﹛ SMALL LEFT CURLY BRACKET
    "\u2775": "}",  # ❵ MEDIUM RIGHT CURLY BRACKET ORNAMENT
    "\ufe5c": "}",  # ﹜ SMALL RIGHT CURLY BRACKET
    "\u02dc": "~",  # ˜ SMALL TILDE
    "\u02f7": "~",  # ˷ MODIFIER LETTER LOW TILDE
    "\u0303": "~",  # COMBINING TILDE
    "\u0330": "~",  # COMBINING TILDE BELOW
    "\u0334": "~",  # COMBINING TILDE OVERLAY
    "\u223c": "~",  # ∼ TILDE OPERATOR
    # small capitals
    "\u1d00": "A",
    "\u0299": "B",
    "\u1d04": "C",
    "\u1d05": "D",
    "\u1d07": "E",
    "\ua730": "F",
    "\u0262": "G",
    "\u029c": "H",
    "\u026a": "I",
    "\u1d0a": "J",
    "\u1d0b": "K",
    "\u029f": "L",
    "\u1d0d": "M",
    "\u0274": "N",
    "\u1d0f": "O",
    "\u1d18": "P",
    "\u0280": "R",
    "\ua731": "S",
    "\u1d1b": "T",
    "\u1d1c": "U",
    "\u1d20": "V",
    "\u1d21": "W",
    "\u028f": "Y",
    "\u1d22": "Z",
    # spaces
    "\t": " ",  # CHARACTER TABULATION
    "\u0080": " ",  # C1 control characters the calculator turns into spaces
    "\u008d": " ",  # REVERSE LINE FEED
    "\u0090": " ",  # DEVICE CONTROL STRING
    "\u009b": " ",  # CONTROL SEQUENCE INTRODUCER
    "\u009f": " ",  # APPLICATION PROGRAM COMMAND
    "\u00a0": " ",  # NO-BREAK SPACE
    "\u2000": " ",  # EN QUAD
    "\u2001": " ",  # EM QUAD
    "\u2002": " ",  # EN SPACE
    "\u2003": " ",  # EM SPACE
    "\u2004": " ",  # THREE-PER-EM SPACE
    "\u2005": " ",  # FOUR-PER-EM SPACE
    "\u2006": " ",  # SIX-PER-EM SPACE
    "\u2007": " ",  # FIGURE SPACE
    "\u2008": " ",  # PUNCTUATION SPACE
    "\u2009": " ",  # THIN SPACE
    "\u200a": " ",  # HAIR SPACE
    "\u2028": " ",  # LINE SEPARATOR
    "\u2029": " ",  # PARAGRAPH SEPARATOR
    "\u202f": " ",  # NARROW NO-BREAK SPACE
    "\u205f": " ",  # MEDIUM MATHEMATICAL SPACE
    "\u3000": " ",  # IDEOGRAPHIC SPACE
    # invisible characters, removed
    "\u0000": "",  # NULL
    "\u0003": "",  # END OF TEXT
    "\u0004": "",  # END OF TRANSMISSION
    "\u0010": "",  # DATA LINK ESCAPE
    "\u0011": "",  # DEVICE CONTROL ONE
    "\u0012": "",  # DEVICE CONTROL TWO
    "\u0013": "",  # DEVICE CONTROL THREE
    "\u0014": "",  # DEVICE CONTROL FOUR
    "\u0017": "",  # END OF TRANSMISSION BLOCK
    "\u0019": "",  # END OF MEDIUM
    "\u00ad": "",  # SOFT HYPHEN (added)
    "\u200b": "",  # ZERO WIDTH SPACE
    "\u2060": "",  # WORD JOINER
    "\ufeff": "",  # ZERO WIDTH NO-BREAK SPACE (BOM)
}
# Fullwidth ASCII: U+FF01..U+FF5E sit 0xFEE0 above U+0021..U+007E. The fullwidth backtick follows the backtick.
_SMART_MAP.update({chr(code + 0xFEE0): chr(code) for code in range(0x21, 0x7F) if chr(code) != "`"})
_SMART_MAP["\uff40"] = "'"

_SMART_TABLE: Final = str.maketrans(_SMART_MAP)

# Zero-width (non-)joiners are removed only next to GSM-7 text (or other joiners, or the ends of the body): between
# two non-GSM characters they glue emoji sequences (👨‍👩‍👧) or shape Persian/Indic script, which must stay intact.
_JOINERS: Final = "\u200c\u200d"
_GLUE: Final = f"{_char_class(_GSM7)}{_JOINERS}"
_JOINER_RE: Final = re.compile(f"(?<![^{_GLUE}])[{_JOINERS}]|[{_JOINERS}](?![^{_GLUE}])")
_SMART_RE: Final = re.compile(f"[{_char_class(frozenset(_SMART_MAP))}{_JOINERS}]")


def smart_encode(body: str) -> str:
    """Replace Unicode look-alikes in ``body`` with GSM-7 equivalents, as Twilio's Smart Encoding does.

    Only characters outside GSM-7 are touched; characters without a GSM-7 look-alike (emoji, CJK, most letters
    with diacritics) are kept, so the result is GSM-7 only if every non-GSM character had a replacement.
    Twilio only sends the replaced text when it came out all GSM-7 (an emoji keeps the message UCS-2 anyway):
    :func:`smart_encoded` is that.
    """
    if is_gsm7(body) or _SMART_RE.search(body) is None:
        return body
    encoded = body.translate(_SMART_TABLE)
    if "\u200d" in encoded or "\u200c" in encoded:
        encoded = _JOINER_RE.sub("", encoded)
    return encoded


def smart_encoded(body: str) -> str:
    """What Twilio sends of ``body`` with Smart Encoding on: the look-alikes replaced when that makes the whole body
    GSM-7 (fewer, cheaper segments), else the body as it was."""
    encoded = smart_encode(body)
    return encoded if is_gsm7(encoded) else body
