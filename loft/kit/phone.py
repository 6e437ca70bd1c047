"""Phone numbers, parsed and classified with Google's libphonenumber metadata (the ``phonenumbers`` package)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType

NumberType = Literal["local", "mobile", "tollFree"]

_ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
#: The address of an RCS agent (``rcs:<agent>``), and of a phone reached over RCS (``rcs:+<E.164>``).
RCS_PREFIX = "rcs:"


@dataclass(frozen=True, slots=True)
class Capabilities:
    voice: bool
    sms: bool
    mms: bool
    fax: bool


#: Parsing a number with libphonenumber costs tens of microseconds, and the same few numbers come back on every
#: request: the pure functions below remember their answers.
_CACHED = 65536


@lru_cache(maxsize=_CACHED)
def e164(text: str) -> str | None:
    """The E.164 form of ``text`` if it is a *possible* international number, else ``None``.

    "Possible" (the right length for its country) rather than "valid": fictional test numbers such as
    ``+15558675310`` from Twilio's own examples must be accepted as recipients.
    """
    candidate = text.strip()
    if not candidate:
        return None
    if not candidate.startswith("+"):
        candidate = "+" + candidate
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=_CACHED)
def is_valid(text: str) -> bool:
    """True when ``text`` is a number a carrier could really assign (used for numbers an account owns)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, None))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=_CACHED)
def country(e164_number: str) -> str | None:
    """The number's country (ISO 3166 alpha-2); for a number no region claims, such as the fictional
    ``+1 555`` range, the main country of its calling code."""
    try:
        number = phonenumbers.parse(e164_number, None)
    except phonenumbers.NumberParseException:
        return None
    region: str | None = phonenumbers.region_code_for_number(number)
    if (not region or region == "ZZ") and number.country_code:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return region if region and region != "ZZ" else None


@lru_cache(maxsize=_CACHED)
def country_code(e164_number: str) -> int | None:
    try:
        code: int | None = phonenumbers.parse(e164_number, None).country_code
    except phonenumbers.NumberParseException:
        return None
    return code


@lru_cache(maxsize=_CACHED)
def number_type(e164_number: str) -> NumberType:
    kind = phonenumbers.number_type(phonenumbers.parse(e164_number, None))
    if kind == PhoneNumberType.TOLL_FREE:
        return "tollFree"
    if kind == PhoneNumberType.MOBILE:
        return "mobile"
    return "local"


def capabilities(e164_number: str) -> Capabilities:
    """What a number of this kind can do, following Twilio's catalogue.

    North American local and toll-free numbers do voice, SMS and MMS; mobile numbers elsewhere do voice and
    SMS; fixed-line numbers outside North America are voice (and fax) only.
    """
    number = phonenumbers.parse(e164_number, None)
    kind = phonenumbers.number_type(number)
    north_american = number.country_code == 1
    if kind == PhoneNumberType.TOLL_FREE:
        return Capabilities(voice=True, sms=north_american, mms=north_american, fax=False)
    if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return Capabilities(voice=True, sms=True, mms=north_american, fax=False)
    if north_american:
        return Capabilities(voice=True, sms=True, mms=True, fax=False)
    return Capabilities(voice=True, sms=False, mms=False, fax=True)


def is_alphanumeric_sender(text: str) -> bool:
    return _ALPHA_SENDER.match(text) is not None and not text.isdigit()


def is_short_code(text: str) -> bool:
    return _SHORT_CODE.match(text) is not None


def friendly(e164_number: str) -> str:
    """Twilio's default FriendlyName: the national format for North America, else the international one."""
    number = phonenumbers.parse(e164_number, None)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, style))


@lru_cache(maxsize=_CACHED)
def place(e164_number: str) -> str:
    """libphonenumber's English description of where the number is (``"San Francisco, CA"``), or ``""``.

    The geocoder's data is imported on first use: it holds about 100 MB and takes a second to load, and most
    Loft processes never need it.
    """
    from phonenumbers import geocoder

    try:
        parsed = phonenumbers.parse(e164_number, None)
    except phonenumbers.NumberParseException:
        return ""
    description: str = geocoder.description_for_number(parsed, "en")
    return description
