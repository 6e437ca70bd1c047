"""AvailablePhoneNumbers: searching the market (:mod:`loft.numbers.catalogue`) with Twilio's filters.

A search is deterministic: the same country, kind and filters walk the same candidates in the same order, so
asking again gives the same list, less the numbers bought meanwhile (a number any account owns is never
offered). Every number offered is valid for its country and of the kind asked for, and matches every filter.

Filters Loft has no data for in a country (``InRegion``, ``InPostalCode``, ``InLata``, ``InRateCenter`` and the
``Near…`` searches outside the cities of ``catalogue._CITIES``; Twilio applies them in the US and Canada only)
match nothing, so such a search answers an empty list rather than numbers that ignore the filter.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any

from sqlalchemy import select

from loft.db.engine import Conn
from loft.db.tables import incoming_phone_numbers as numbers
from loft.errors import InvalidParameter
from loft.kit import forms, paging, phone
from loft.numbers import catalogue
from loft.numbers.catalogue import Kind, Place

#: A search answers one page of at most this many numbers (and no next page).
MAX_RESULTS = 50
DEFAULT_DISTANCE = 25
MAX_DISTANCE = 500

_KEYPAD = {letter: digit for digit, letters in (("2", "ABC"), ("3", "DEF"), ("4", "GHI"), ("5", "JKL"),
                                                ("6", "MNO"), ("7", "PQRS"), ("8", "TUV"), ("9", "WXYZ"))
           for letter in letters}
_CONTAINS = re.compile(r"^\+?[0-9A-Za-z*%]+\$?$")
_MILES_PER_DEGREE = 69.09


@dataclass(frozen=True, slots=True)
class Contains:
    """A ``Contains`` pattern, letters already turned into keypad digits.

    ``tokens`` holds digits, ``*`` (any one digit) and ``%`` (any run of digits). Without ``+`` the pattern may
    sit anywhere in the national number; with ``+`` it must start the E.164 number (country code included);
    with a final ``$`` it must end it.
    """

    tokens: str
    at_start: bool
    at_end: bool

    def regex(self) -> re.Pattern[str]:
        body = "".join({"*": r"\d", "%": r"\d*"}.get(token, token) for token in self.tokens)
        return re.compile(("^" if self.at_start else "") + body + ("$" if self.at_end else ""))

    def matches(self, number: str) -> bool:
        code = str(phone.country_code(number) or "")
        digits = number.lstrip("+")
        return self.regex().search(digits if self.at_start else digits[len(code):]) is not None

    def plant(self, national: str, rng: random.Random, *, code: str, keep: int) -> str:
        """``national`` with the pattern written over it at a random place (after its first ``keep`` digits
        when it fits there), so that the search finds matching numbers without guessing them."""
        subject = code + national if self.at_start else national
        slack = len(subject) - (len(self.tokens) - self.tokens.count("%"))
        if slack < 0:
            return national
        expanded: list[str] = []
        wildcards = self.tokens.count("%")
        for token in self.tokens:
            if token == "%":
                wildcards -= 1
                run = slack if (self.at_start and self.at_end and wildcards == 0) else rng.randint(0, slack)
                slack -= run
                expanded.extend("*" * run)
            else:
                expanded.append(token)
        room = len(subject) - len(expanded)
        if self.at_start:
            offset = 0
        elif self.at_end:
            offset = room
        else:
            offset = rng.randint(min(keep, room), room)
        chars = list(subject)
        for index, token in enumerate(expanded):
            if token != "*":
                chars[offset + index] = token
        planted = "".join(chars)
        return planted[len(code):] if self.at_start else planted


def parse_contains(text: str) -> Contains:
    """Twilio's rules: 2 to 16 characters of digits, letters and the meta-characters ``*``, ``%``, ``+`` (first)
    and ``$`` (last), at least two of them digits or letters, ``%``/``+``/``$`` never next to another meta."""
    pattern = text.strip()
    problem = None
    if not 2 <= len(pattern) <= 16:
        problem = "must be 2 to 16 characters long"
    elif not _CONTAINS.match(pattern):
        problem = "may hold only digits, letters, '*', '%', a leading '+' and a final '$'"
    elif sum(ch.isalnum() for ch in pattern) < 2:
        problem = "needs at least two digits or letters"
    elif re.search(r"[+%$][*%$]|[*%][%$]", pattern):
        problem = "has meta-characters next to each other"
    if problem:
        raise InvalidParameter(20001, f"Contains '{text}' {problem}")
    at_start, at_end = pattern.startswith("+"), pattern.endswith("$")
    body = pattern[1 if at_start else 0: -1 if at_end else None]
    return Contains(tokens="".join(_KEYPAD.get(ch.upper(), ch) for ch in body), at_start=at_start, at_end=at_end)


@dataclass(frozen=True, slots=True)
class Criteria:
    """A search's filters, validated. ``None`` means "not asked"."""

    area_code: str | None = None
    contains: Contains | None = None
    in_region: str | None = None
    in_postal_code: str | None = None
    in_locality: str | None = None
    in_rate_center: str | None = None
    in_lata: str | None = None
    near: tuple[float, float] | None = None
    distance: int = DEFAULT_DISTANCE
    sms: bool | None = None
    mms: bool | None = None
    voice: bool | None = None
    fax: bool | None = None
    exclude_all_address_required: bool = False
    exclude_local_address_required: bool = False
    exclude_foreign_address_required: bool = False
    beta: bool = True
    #: A filter named a place Loft cannot locate (a NearNumber of unknown position…): nothing matches.
    nowhere: bool = False
    size: int = field(default=MAX_RESULTS, compare=False, repr=False)

    def seed(self) -> str:
        """What the order of candidates depends on: everything but the page size."""
        return repr(self)


@dataclass(frozen=True, slots=True)
class Available:
    phone_number: str
    friendly_name: str
    iso_country: str
    place: Place
    address_requirements: str
    capabilities: phone.Capabilities
    beta: bool = False


def criteria_from(query: Mapping[str, str], country: str) -> Criteria:
    """Validate a search's query parameters (Twilio's names) for ``country``."""
    form = query
    code = catalogue.country_code_of(country)
    nowhere = False

    def place_filter(name: str, attribute: str) -> str | None:
        """A place filter's value; given a phone number, that number's own place."""
        nonlocal nowhere
        value = (form.get(name) or "").strip()
        if not value:
            return None
        if not value.startswith("+"):
            return value
        number = phone.e164(value)
        if number is None:
            raise InvalidParameter(20001, f"{name} '{value}' is neither a place nor a valid phone number")
        found: str | None = getattr(catalogue.describe(number, phone.country(number) or country), attribute)
        nowhere = nowhere or found is None
        return found

    area_code = (form.get("AreaCode") or "").strip() or None
    if area_code is not None:
        shape = r"^[2-9][0-9]{2}$" if code == 1 else r"^[0-9]{1,5}$"
        if not re.match(shape, area_code):
            raise InvalidParameter(21451, f"AreaCode {area_code} is invalid")
    contains = parse_contains(form["Contains"]) if (form.get("Contains") or "").strip() else None
    in_region = place_filter("InRegion", "region")
    in_postal_code = place_filter("InPostalCode", "postal_code")
    in_locality = place_filter("InLocality", "locality")
    in_rate_center = place_filter("InRateCenter", "rate_center")
    in_lata = place_filter("InLata", "lata")
    if in_rate_center is not None and in_lata is None and not nowhere:
        raise InvalidParameter(20001, "InRateCenter requires InLata")
    distance = forms.integer(form, "Distance", low=0, high=MAX_DISTANCE)
    near, located = _near(form, country)
    nowhere = nowhere or not located
    page = paging.parse(form)
    return Criteria(
        area_code=area_code,
        contains=contains,
        in_region=in_region,
        in_postal_code=in_postal_code,
        in_locality=in_locality,
        in_rate_center=in_rate_center,
        in_lata=in_lata,
        near=near,
        distance=DEFAULT_DISTANCE if distance is None else distance,
        sms=forms.boolean(form, "SmsEnabled"),
        mms=forms.boolean(form, "MmsEnabled"),
        voice=forms.boolean(form, "VoiceEnabled"),
        fax=forms.boolean(form, "FaxEnabled"),
        exclude_all_address_required=bool(forms.boolean(form, "ExcludeAllAddressRequired")),
        exclude_local_address_required=bool(forms.boolean(form, "ExcludeLocalAddressRequired")),
        exclude_foreign_address_required=bool(forms.boolean(form, "ExcludeForeignAddressRequired")),
        beta=forms.boolean(form, "Beta") is not False,
        nowhere=nowhere,
        size=min(page.size, MAX_RESULTS),
    )


def _near(form: Mapping[str, str], country: str) -> tuple[tuple[float, float] | None, bool]:
    """The point of ``NearLatLong`` or ``NearNumber`` (or ``None``), and whether it could be located."""
    text = (form.get("NearLatLong") or "").strip()
    if text:
        try:
            latitude, longitude = (float(part) for part in text.split(","))
        except ValueError:
            raise InvalidParameter(20001, f"NearLatLong '{text}' is not 'latitude,longitude'") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidParameter(20001, f"NearLatLong '{text}' is not 'latitude,longitude'")
        return (latitude, longitude), True
    text = (form.get("NearNumber") or "").strip()
    if text:
        number = phone.e164(text if text.startswith("+") else "+" + text)
        if number is None:
            raise InvalidParameter(20001, f"NearNumber '{text}' is not a valid phone number")
        place = catalogue.describe(number, phone.country(number) or country)
        if place.latitude is None or place.longitude is None:
            return None, False
        return (place.latitude, place.longitude), True
    return None, True


# --- Searching -----------------------------------------------------------------------------------------------

def candidates(country: str, kind: Kind, criteria: Criteria) -> Iterator[Available]:
    """Every number of the market matching ``criteria``, in the search's fixed order; ownership aside."""
    if criteria.nowhere or kind not in catalogue.kinds_of(country):
        return
    code = str(catalogue.country_code_of(country))
    stems = _stems(country, criteria)
    keep = min((len(stem) for stem in stems), default=0) if stems else 0
    shape: Callable[[str, random.Random], str] | None = None
    if criteria.contains is not None:
        contains = criteria.contains

        def shape(national: str, rng: random.Random) -> str:
            return contains.plant(national, rng, code=code, keep=keep)

    requirements = catalogue.address_requirements(country, kind)
    for number in catalogue.candidates(country, kind, seed=criteria.seed(), stems=stems, shape=shape):
        capabilities = phone.capabilities(number)
        if not _plain_match(number, capabilities, requirements, criteria):
            continue  # decided without asking the geocoder, the costly part
        offer = Available(phone_number=number, friendly_name=phone.friendly(number), iso_country=country,
                          place=catalogue.describe(number, country), address_requirements=requirements,
                          capabilities=capabilities)
        if matches(offer, criteria):
            yield offer


def matches(offer: Available, criteria: Criteria) -> bool:
    """Whether one number satisfies every filter of ``criteria``."""
    place = offer.place
    return (
        _plain_match(offer.phone_number, offer.capabilities, offer.address_requirements, criteria)
        and (not offer.beta or criteria.beta)
        and _same(criteria.in_region, place.region)
        and _same(criteria.in_postal_code, place.postal_code)
        and _same(criteria.in_locality, place.locality)
        and _same(criteria.in_rate_center, place.rate_center)
        and _same(criteria.in_lata, place.lata)
        and (criteria.near is None or _within(place, criteria.near, criteria.distance))
    )


def _plain_match(number: str, capabilities: phone.Capabilities, requirements: str, criteria: Criteria) -> bool:
    """The filters that need no knowledge of where the number is."""
    national = number[1 + len(str(phone.country_code(number))):]
    return (
        (criteria.area_code is None or national.startswith(criteria.area_code))
        and (criteria.contains is None or criteria.contains.matches(number))
        and (criteria.sms is None or capabilities.sms == criteria.sms)
        and (criteria.mms is None or capabilities.mms == criteria.mms)
        and (criteria.voice is None or capabilities.voice == criteria.voice)
        and (criteria.fax is None or capabilities.fax == criteria.fax)
        and (not criteria.exclude_all_address_required or requirements == "none")
        and (not criteria.exclude_local_address_required or requirements != "local")
        and (not criteria.exclude_foreign_address_required or requirements != "foreign")
    )


async def search(conn: Conn, country: str, kind: Kind, criteria: Criteria) -> list[Available]:
    """The first ``criteria.size`` matching numbers nobody owns."""
    walk = candidates(country, kind, criteria)
    found: list[Available] = []
    while len(found) < criteria.size:
        # Drawing candidates is CPU work (libphonenumber): keep it off the event loop.
        batch = await asyncio.to_thread(lambda: list(islice(walk, criteria.size - len(found))))
        if not batch:
            break
        owned = set((await conn.execute(
            select(numbers.c.phone_number).where(numbers.c.phone_number.in_([o.phone_number for o in batch]))
        )).scalars())
        found.extend(offer for offer in batch if offer.phone_number not in owned)
    return found


def _stems(country: str, criteria: Criteria) -> list[str] | None:
    """Leading national digits to draw from: the places the geographic filters allow and the area code."""
    wanted: list[Callable[[Place], bool]] = []
    for asked, attribute in ((criteria.in_locality, "locality"), (criteria.in_region, "region"),
                             (criteria.in_postal_code, "postal_code"), (criteria.in_lata, "lata"),
                             (criteria.in_rate_center, "rate_center")):
        if asked is not None:
            wanted.append(partial(_place_has, attribute, asked))
    if criteria.near is not None:
        near, distance = criteria.near, criteria.distance
        wanted.append(lambda place: _within(place, near, distance))
    stems = catalogue.stems_where(country, lambda place: all(w(place) for w in wanted)) if wanted else None
    area_code = criteria.area_code
    if area_code is None:
        return stems
    if stems is None:
        return [area_code]
    return sorted({max(stem, area_code, key=len) for stem in stems
                   if stem.startswith(area_code) or area_code.startswith(stem)})


def _place_has(attribute: str, asked: str, place: Place) -> bool:
    return _same(asked, getattr(place, attribute))


def _same(asked: str | None, actual: str | None) -> bool:
    return asked is None or (actual is not None and asked.casefold() == actual.casefold())


def _within(place: Place, point: tuple[float, float], miles: int) -> bool:
    if place.latitude is None or place.longitude is None:
        return False
    return _miles((place.latitude, place.longitude), point) <= miles


def _miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 3958.8 * math.asin(math.sqrt(min(1.0, h)))


# --- Rendering -----------------------------------------------------------------------------------------------

def render(offer: Available, *, xml: bool = False) -> dict[str, Any]:
    """One AvailablePhoneNumber in Twilio's field order.

    JSON capabilities carry both spellings: real Twilio answers ``SMS``/``MMS`` here (twilio-java reads those),
    its spec and twilio-php read ``sms``/``mms``. Coordinates are JSON numbers, as the spec types them (Twilio
    itself sends strings such as ``"37.780000"``); the XML form has Twilio's six decimals.
    """
    place, caps = offer.place, offer.capabilities
    capabilities: dict[str, bool] = {"voice": caps.voice, "sms": caps.sms, "mms": caps.mms, "fax": caps.fax}
    if not xml:
        capabilities = {"voice": caps.voice, "SMS": caps.sms, "MMS": caps.mms, "fax": caps.fax,
                        "sms": caps.sms, "mms": caps.mms}
    return {
        "friendly_name": offer.friendly_name,
        "phone_number": offer.phone_number,
        "lata": place.lata,
        "locality": place.locality,
        "rate_center": place.rate_center,
        "latitude": _coordinate(place.latitude, xml),
        "longitude": _coordinate(place.longitude, xml),
        "region": place.region,
        "postal_code": place.postal_code,
        "iso_country": offer.iso_country,
        "address_requirements": offer.address_requirements,
        "beta": offer.beta,
        "capabilities": capabilities,
    }


def render_country(account_sid: str, country: str) -> dict[str, Any]:
    base = f"/2010-04-01/Accounts/{account_sid}/AvailablePhoneNumbers/{country}"
    return {
        "country_code": country,
        "country": catalogue.COUNTRIES[country],
        "uri": f"{base}.json",
        "beta": False,
        "subresource_uris": {kind.key: f"{base}/{kind.name}.json" for kind in catalogue.kinds_of(country)},
    }


def _coordinate(value: float | None, xml: bool) -> float | str | None:
    if value is None:
        return None
    return f"{value:.6f}" if xml else round(value, 6)
