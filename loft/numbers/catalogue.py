"""Numbers for sale: real-format, valid numbers drawn deterministically from libphonenumber's metadata.

The market has a fixed set of countries (:data:`COUNTRIES`). What a country sells is derived from its metadata:
each Twilio number *kind* (``Local``, ``Mobile``, ``TollFree`` …) stands for one or more libphonenumber types,
and a country offers a kind when its metadata describes numbers of that type. Candidates are drawn from the
type's own pattern (or from a known leading-digit *stem*, such as an area code or a geocoder prefix) by a
generator seeded with a string, so the same search always walks the same numbers. Where a number is
(locality, region, coordinates) comes from libphonenumber's geocoder plus a small table of North American
cities (:data:`_CITIES`); anything else is unknown (``None``).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Union

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from loft.kit import phone

#: How many candidates a search looks at before it concludes nothing is to be had.
SEARCH_LIMIT = 2000

#: ISO 3166 code → English name, in the order the country list gives them.
COUNTRIES: dict[str, str] = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "FR": "France", "DE": "Germany",
    "AU": "Australia", "AT": "Austria", "BE": "Belgium", "BR": "Brazil", "CH": "Switzerland",
    "CZ": "Czech Republic", "DK": "Denmark", "ES": "Spain", "FI": "Finland", "HK": "Hong Kong", "IE": "Ireland",
    "IL": "Israel", "IT": "Italy", "JP": "Japan", "MX": "Mexico", "NL": "Netherlands", "NO": "Norway",
    "NZ": "New Zealand", "PL": "Poland", "PR": "Puerto Rico", "PT": "Portugal", "SE": "Sweden", "SG": "Singapore",
    "ZA": "South Africa",
}

_NANP = 1


@dataclass(frozen=True, slots=True)
class Kind:
    """One of Twilio's number kinds: the path segment, the subresource key and the types it sells."""

    name: str
    key: str
    types: frozenset[int]
    #: The IncomingPhoneNumber ``type`` a number bought as this kind gets (``None``: kept as classified).
    stored: str | None = None


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("Local", "local", frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
             "local"),
        Kind("TollFree", "toll_free", frozenset({PhoneNumberType.TOLL_FREE}), "tollFree"),
        Kind("Mobile", "mobile", frozenset({PhoneNumberType.MOBILE}), "mobile"),
        Kind("National", "national", frozenset({PhoneNumberType.UAN})),
        Kind("Voip", "voip", frozenset({PhoneNumberType.VOIP})),
        Kind("SharedCost", "shared_cost", frozenset({PhoneNumberType.SHARED_COST})),
        # libphonenumber has no machine-to-machine class: no country offers it.
        Kind("MachineToMachine", "machine_to_machine", frozenset()),
    )
}

#: North America sells local and toll-free numbers only (its mobiles are indistinguishable from landlines).
_NANP_KINDS = ("Local", "TollFree")

#: Which Address a number needs, by country and kind; anything not listed needs none.
_ADDRESS_REQUIREMENTS: dict[str, dict[str, str]] = {
    "AT": {"local": "local"}, "AU": {"local": "any", "mobile": "any"}, "BE": {"local": "local"},
    "BR": {"local": "local"}, "CH": {"local": "local", "mobile": "any"}, "CZ": {"local": "local"},
    "DE": {"local": "local", "mobile": "any", "national": "any"}, "DK": {"local": "any"},
    "ES": {"local": "local"}, "FR": {"local": "local", "mobile": "any", "national": "any"},
    "GB": {"local": "any"}, "IE": {"local": "local"}, "IT": {"local": "local", "mobile": "any"},
    "JP": {"local": "local"}, "MX": {"local": "local"}, "PT": {"local": "local"}, "ZA": {"local": "local"},
}


def country_code_of(country: str) -> int:
    code: int = phonenumbers.country_code_for_region(country)
    return code


@cache
def kinds_of(country: str) -> tuple[Kind, ...]:
    """The kinds ``country`` sells: those whose libphonenumber type has a valid example number there."""
    if country not in COUNTRIES:
        return ()
    names = _NANP_KINDS if country_code_of(country) == _NANP else tuple(KINDS)
    offered = []
    for name in names:
        kind = KINDS[name]
        for kind_type in kind.types:
            example = phonenumbers.example_number_for_type(country, kind_type)
            if example is not None and phonenumbers.is_valid_number_for_region(example, country):
                offered.append(kind)
                break
    return tuple(offered)


def is_of_kind(number: str, kind: Kind, country: str | None = None) -> bool:
    """True when ``number`` is a valid number of ``kind`` (in ``country``, when given), written as E.164 writes
    it: libphonenumber reads ``+49022653128`` as ``+4922653128`` (a national trunk prefix after the country
    code), which is another number's spelling, not a number."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    valid = (phonenumbers.is_valid_number_for_region(parsed, country) if country
             else phonenumbers.is_valid_number(parsed))
    return (bool(valid) and _type_fits(phonenumbers.number_type(parsed), kind, parsed.country_code or 0)
            and phonenumbers.format_number(parsed, PhoneNumberFormat.E164) == number)


def _type_fits(number_type: int, kind: Kind, country_code: int) -> bool:
    if number_type in kind.types:
        return True
    # Outside North America a number libphonenumber cannot tell apart is sold as a mobile as well.
    return kind.name == "Mobile" and number_type == PhoneNumberType.FIXED_LINE_OR_MOBILE and country_code != _NANP


def address_requirements(country: str, kind: Kind) -> str:
    return _ADDRESS_REQUIREMENTS.get(country, {}).get(kind.key, "none")


# --- Generating candidates -----------------------------------------------------------------------------------

def candidates(country: str, kind: Kind, *, seed: str, stems: list[str] | None = None,
               shape: Callable[[str, random.Random], str] | None = None) -> Iterator[str]:
    """Valid E.164 numbers of ``kind`` in ``country``, in a fixed pseudo-random order for ``seed``.

    ``stems`` are leading digits of the national number to start from (an area code, geocoder prefixes);
    ``shape`` may rewrite each drawn national number (to plant a ``Contains`` pattern). A number is yielded
    once; the walk gives up after :data:`SEARCH_LIMIT` draws.
    """
    patterns = [p for p in (_pattern_for(country, t) for t in sorted(kind.types)) if p]
    if not patterns or stems == []:
        return
    code = country_code_of(country)
    lengths = _lengths(country, kind)
    rng = random.Random(f"{country}:{kind.name}:{seed}")
    seen: set[str] = set()
    for _ in range(SEARCH_LIMIT):
        national = _sample(_parse(rng.choice(patterns)), rng)
        if stems:  # the stem, then the rest of a drawn number (or random digits, when the stem is as long)
            stem = rng.choice(stems)
            if len(national) > len(stem):
                national = stem + national[len(stem):]
            else:
                longer = [n for n in lengths if n > len(stem)] or [len(stem)]
                national = stem + "".join(rng.choice("0123456789") for _ in range(rng.choice(longer) - len(stem)))
        if shape is not None:
            national = shape(national, rng)
        candidate = f"+{code}{national}"
        if candidate in seen or not is_of_kind(candidate, kind, country):
            continue
        seen.add(candidate)
        yield candidate


def in_area_code(area_code: str, *, seed: str = "") -> Iterator[str]:
    """Valid North American numbers ``+1 <area_code> NXX XXXX``, in a fixed pseudo-random order per seed."""
    for attempt in range(SEARCH_LIMIT):
        digest = hashlib.sha256(f"{seed}:{area_code}:{attempt}".encode()).digest()
        value = int.from_bytes(digest[:8], "big")
        exchange = 200 + value % 800  # NXX: the first digit is 2-9
        line = (value // 800) % 10000
        candidate = f"+1{area_code}{exchange:03d}{line:04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate, None)):
            yield candidate


def _desc(country: str, number_type: int) -> phonenumbers.PhoneNumberDesc | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
    if metadata is None:
        return None
    return {
        PhoneNumberType.FIXED_LINE: metadata.fixed_line, PhoneNumberType.MOBILE: metadata.mobile,
        PhoneNumberType.TOLL_FREE: metadata.toll_free, PhoneNumberType.SHARED_COST: metadata.shared_cost,
        PhoneNumberType.VOIP: metadata.voip, PhoneNumberType.UAN: metadata.uan,
    }.get(number_type)


def _pattern_for(country: str, number_type: int) -> str | None:
    description = _desc(country, number_type)
    return description.national_number_pattern if description is not None else None


def _lengths(country: str, kind: Kind) -> list[int]:
    """The national-number lengths numbers of ``kind`` have in ``country``."""
    lengths: set[int] = set()
    for number_type in kind.types:
        description = _desc(country, number_type)
        if description is not None and description.possible_length:
            lengths.update(n for n in description.possible_length if n > 0)
    return sorted(lengths) or [10]


# libphonenumber's national number patterns use a small regex subset: digits, \d, [classes], (?:groups), |,
# ? and {n} / {n,m}. They are parsed once into a tree and sampled from, so a draw is nearly always valid.

@dataclass(frozen=True, slots=True)
class _Digits:
    choices: str


@dataclass(frozen=True, slots=True)
class _Sequence:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Choice:
    branches: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Repeat:
    item: _Node
    low: int
    high: int


_Node = Union[_Digits, _Sequence, _Choice, _Repeat]


@cache
def _parse(pattern: str) -> _Node:
    node, end = _alternation(pattern, 0)
    if end != len(pattern):
        raise ValueError(f"unexpected {pattern[end]!r} at {end} in {pattern}")
    return node


def _alternation(pattern: str, i: int) -> tuple[_Node, int]:
    branches: list[_Node] = []
    while True:
        branch, i = _sequence(pattern, i)
        branches.append(branch)
        if i < len(pattern) and pattern[i] == "|":
            i += 1
            continue
        return _Choice(tuple(branches)), i


def _sequence(pattern: str, i: int) -> tuple[_Node, int]:
    items: list[_Node] = []
    while i < len(pattern) and pattern[i] not in "|)":
        atom, i = _atom(pattern, i)
        if i < len(pattern) and pattern[i] == "?":
            atom, i = _Repeat(atom, 0, 1), i + 1
        elif i < len(pattern) and pattern[i] == "{":
            close = pattern.index("}", i)
            low, _, high = pattern[i + 1:close].partition(",")
            atom, i = _Repeat(atom, int(low), int(high) if high else int(low)), close + 1
        items.append(atom)
    return _Sequence(tuple(items)), i


def _atom(pattern: str, i: int) -> tuple[_Node, int]:
    char = pattern[i]
    if char == "(":
        start = i + 3 if pattern.startswith("(?:", i) else i + 1
        node, i = _alternation(pattern, start)
        return node, i + 1  # past the ")"
    if char == "[":
        close = pattern.index("]", i)
        return _Digits(_class(pattern[i + 1:close])), close + 1
    if pattern.startswith("\\d", i):
        return _Digits("0123456789"), i + 2
    if char.isdigit():
        return _Digits(char), i + 1
    raise ValueError(f"unexpected {char!r} at {i} in {pattern}")


def _class(body: str) -> str:
    digits = ""
    for match in re.finditer(r"(\d)(?:-(\d))?", body.replace("\\d", "0-9")):
        low, high = match.group(1), match.group(2) or match.group(1)
        digits += "".join(str(d) for d in range(int(low), int(high) + 1))
    return digits


def _starts(node: _Node, n: int) -> frozenset[str]:
    """Every first ``n`` digits of a string ``node`` matches (whole matches, when shorter)."""
    if n == 0:
        return frozenset({""})
    if isinstance(node, _Digits):
        return frozenset(node.choices)
    if isinstance(node, _Choice):
        return frozenset().union(*(_starts(branch, n) for branch in node.branches))
    items = node.items if isinstance(node, _Sequence) else ()
    if isinstance(node, _Repeat):
        counts = range(node.low, min(node.high, n) + 1) if node.low <= n else range(n, n + 1)
        return frozenset().union(*(_starts(_Sequence((node.item,) * count), n) for count in counts))
    found = frozenset({""})
    for item in items:
        found = frozenset(done if len(done) == n else done + more
                          for done in found for more in (_starts(item, n - len(done)) if len(done) < n else {""}))
    return found


def _sample(node: _Node, rng: random.Random) -> str:
    if isinstance(node, _Digits):
        return rng.choice(node.choices)
    if isinstance(node, _Sequence):
        return "".join(_sample(item, rng) for item in node.items)
    if isinstance(node, _Choice):
        return _sample(rng.choice(node.branches), rng)
    return "".join(_sample(node.item, rng) for _ in range(rng.randint(node.low, node.high)))


# --- Where a number is -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Place:
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    rate_center: str | None = None
    lata: str | None = None
    latitude: float | None = None
    longitude: float | None = None


#: North American cities Loft knows the coordinates of: (locality, region) → (latitude, longitude, postal code
#: of the centre, LATA). The names are spelt as libphonenumber's geocoder spells them.
_CITIES: dict[tuple[str, str], tuple[float, float, str | None, str | None]] = {
    ("New York", "NY"): (40.7128, -74.006, "10001", "132"),
    ("Los Angeles", "CA"): (34.0522, -118.2437, "90012", "730"),
    ("Chicago", "IL"): (41.8781, -87.6298, "60601", "358"),
    ("Houston", "TX"): (29.7604, -95.3698, "77002", "560"),
    ("Phoenix", "AZ"): (33.4484, -112.074, "85003", "666"),
    ("Philadelphia", "PA"): (39.9526, -75.1652, "19107", "228"),
    ("San Diego", "CA"): (32.7157, -117.1611, "92101", "732"),
    ("Dallas", "TX"): (32.7767, -96.797, "75201", "552"),
    ("San Jose", "CA"): (37.3382, -121.8863, "95113", "722"),
    ("Austin", "TX"): (30.2672, -97.7431, "78701", "558"),
    ("Jacksonville", "FL"): (30.3322, -81.6557, "32202", "452"),
    ("San Francisco", "CA"): (37.7749, -122.4194, "94103", "722"),
    ("Oakland", "CA"): (37.8044, -122.2712, "94612", "722"),
    ("Columbus", "OH"): (39.9612, -82.9988, "43215", "324"),
    ("Cleveland", "OH"): (41.4993, -81.6944, "44113", "320"),
    ("Indianapolis", "IN"): (39.7684, -86.1581, "46204", "336"),
    ("Seattle", "WA"): (47.6062, -122.3321, "98101", "674"),
    ("Portland", "OR"): (45.5152, -122.6784, "97204", "672"),
    ("Denver", "CO"): (39.7392, -104.9903, "80202", "656"),
    ("Washington", "DC"): (38.9072, -77.0369, "20001", "236"),
    ("Baltimore", "MD"): (39.2904, -76.6122, "21202", "238"),
    ("Boston", "MA"): (42.3601, -71.0589, "02108", "128"),
    ("Nashville", "TN"): (36.1627, -86.7816, "37203", "474"),
    ("Detroit", "MI"): (42.3314, -83.0458, "48226", "340"),
    ("Las Vegas", "NV"): (36.1699, -115.1398, "89101", "721"),
    ("Atlanta", "GA"): (33.749, -84.388, "30303", "438"),
    ("Miami", "FL"): (25.7617, -80.1918, "33130", "460"),
    ("Minneapolis", "MN"): (44.9778, -93.265, "55401", "628"),
    ("St. Louis", "MO"): (38.627, -90.1994, "63101", "520"),
    ("Pittsburgh", "PA"): (40.4406, -79.9959, "15222", "234"),
    ("Salt Lake City", "UT"): (40.7608, -111.891, "84101", "660"),
    ("New Orleans", "LA"): (29.9511, -90.0715, "70112", "490"),
    ("Honolulu", "HI"): (21.3069, -157.8583, "96813", "834"),
    ("Hilo", "HI"): (19.72, -155.09, "96720", "834"),
    ("Toronto", "ON"): (43.6532, -79.3832, None, None),
    ("Ottawa", "ON"): (45.4215, -75.6972, None, None),
    ("Montreal", "QC"): (45.5019, -73.5674, None, None),
    ("Vancouver", "BC"): (49.2827, -123.1207, None, None),
    ("Calgary", "AB"): (51.0447, -114.0719, None, None),
    ("Edmonton", "AB"): (53.5461, -113.4938, None, None),
    ("Winnipeg", "MB"): (49.8951, -97.1384, None, None),
    ("Halifax", "NS"): (44.6488, -63.5752, None, None),
}

#: The geocoder's names for whole states and provinces (some of them its own spellings) → (city, region).
_REGIONS: dict[str, tuple[str | None, str]] = {
    name: (None, code) for code, name in (
        ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
        ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("FL", "Florida"), ("GA", "Georgia"),
        ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"),
        ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
        ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
        ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"), ("NH", "New Hampshire"),
        ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"), ("NC", "North Carolina"),
        ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"), ("PA", "Pennsylvania"),
        ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"),
        ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington State"),
        ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"), ("AB", "Alberta"),
        ("BC", "British Columbia"), ("BC", "British Colombia"), ("MB", "Manitoba"), ("NB", "New Brunswick"),
        ("NL", "Newfoundland and Labrador"), ("NS", "Nova Scotia/Prince Edward Island"), ("ON", "Ontario"),
        ("QC", "Quebec"), ("SK", "Saskatchewan"), ("YT", "Yukon"), ("NT", "Northwest Territories"),
    )
} | {"Washington D.C.": ("Washington", "DC")}

_CITY_STATE = re.compile(r"^(.+), ([A-Z]{2})$")


def describe(number: str, country: str) -> Place:
    """Where ``number`` is, as far as Loft knows."""
    return place_of(_description(number), country)


@cache
def place_of(description: str | None, country: str) -> Place:
    """The Place a geocoder description stands for in ``country``."""
    if not description or description == COUNTRIES.get(country):
        return Place()
    if country_code_of(country) != _NANP:
        return Place(locality=description)
    locality: str | None
    matched = _CITY_STATE.match(description)
    if matched:
        locality, region = matched.group(1), matched.group(2)
    elif description in _REGIONS:
        locality, region = _REGIONS[description]
    elif country in ("US", "CA"):
        return Place()
    else:  # elsewhere in North America the geocoder names towns without a state
        return Place(locality=description)
    city = _CITIES.get((locality, region)) if locality else None
    return Place(
        locality=locality,
        region=region,
        rate_center=locality.upper() if locality else None,
        latitude=city[0] if city else None,
        longitude=city[1] if city else None,
        postal_code=city[2] if city else None,
        lata=city[3] if city else None,
    )


def cities() -> list[Place]:
    """The places whose coordinates Loft knows."""
    return [place_of(f"{locality}, {region}", "US") for locality, region in _CITIES]


def stems_where(country: str, wanted: Callable[[Place], bool]) -> list[str]:
    """National-number prefixes of ``country`` whose geocoder place satisfies ``wanted``, shortest first."""
    code = str(country_code_of(country))
    found = [prefix[len(code):] for prefix, description in _descriptions(code).items()
             if wanted(place_of(description, country))]
    if code == str(_NANP):  # one geocoder table for all of North America: keep this country's area codes
        found = [stem for stem in found if len(stem) >= 3 and nanp_country(stem[:3]) == country]
    return sorted(found, key=lambda stem: (len(stem), stem))


def nanp_country(area_code: str) -> str | None:
    """The country of the market a North American area code belongs to, if any."""
    for country in COUNTRIES:
        if country_code_of(country) == _NANP and area_code in area_codes(country):
            return country
    return None


@cache
def area_codes(country: str) -> frozenset[str]:
    """The three-digit area codes of a North American country's local numbers (from its metadata)."""
    pattern = _pattern_for(country, PhoneNumberType.FIXED_LINE)
    return frozenset(start for start in _starts(_parse(pattern), 3) if len(start) == 3) if pattern else frozenset()


@cache
def _descriptions(code: str) -> dict[str, str]:
    """Every geocoder prefix (country code included) under a country code, with its English description."""
    from phonenumbers.geodata import GEOCODE_DATA

    return {prefix: names["en"] for prefix, names in GEOCODE_DATA.items()
            if prefix.startswith(code) and len(prefix) > len(code) and names.get("en")}


def _description(number: str) -> str | None:
    return phone.place(number) or None
