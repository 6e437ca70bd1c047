"""Property tests: whatever a client sends under ``/2010-04-01/Accounts``, Loft answers like Twilio, never with a 5xx.

Random form bodies (real parameter names and random ones, random unicode, repeated keys, broken percent-encoding,
bytes that are not UTF-8), random headers, paths and methods go to one SQLite Loft of this module's own. Every
answer must be below 500, must not leak a traceback, and a JSON error must be Twilio's ``{code, message,
more_info, status}``.

Hostile values (NUL characters, integers past 64 bits, dates past the calendar, huge values) go to the list, fetch
and create endpoints of the session's Loft on each backend, SQLite and PostgreSQL (issue 17), with the same checks.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.rest import Client

from tests.conftest import make_server
from tests.support import clients, openapi
from tests.support.server import LoftServer

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: Every parameter name Loft's 2010-04-01 endpoints read, in bodies and query strings.
PARAMETERS = [
    "To", "From", "Body", "MediaUrl", "StatusCallback", "ApplicationSid", "MaxPrice", "ProvideFeedback", "Attempt",
    "ValidityPeriod", "ForceDelivery", "ContentRetention", "AddressRetention", "SmartEncoded", "PersistentAction",
    "ShortenUrls", "ScheduleType", "SendAt", "SendAsMms", "ContentVariables", "ContentSid", "RiskCheck",
    "MessagingServiceSid", "FallbackFrom", "TrafficType", "Status", "Outcome", "PhoneNumber", "AreaCode",
    "FriendlyName", "SmsUrl", "SmsMethod", "SmsFallbackUrl", "SmsFallbackMethod", "StatusCallbackMethod",
    "SmsApplicationSid", "VoiceApplicationSid", "VoiceUrl", "VoiceMethod", "VoiceFallbackUrl", "VoiceFallbackMethod",
    "VoiceCallerIdLookup", "VoiceReceiveMode", "EmergencyStatus", "EmergencyAddressSid", "TrunkSid", "IdentitySid",
    "AddressSid", "BundleSid", "AccountSid", "ApiVersion", "Beta", "Origin", "PageSize", "Page", "PageToken",
    "DateSent", "DateSent<", "DateSent>", "DateCreated", "DateCreated<", "DateCreated>",
]

INTERESTING_VALUES = [
    "", " ", "+15558675310", "+15005550006", "+15005550001", "+15005550009", "+1", "+", "415", "533", "12",
    "true", "false", "TRUE", "yes", "0", "-1", "1", "99999999999999999999999", "1e3", "NaN", "GET", "POST", "PUT",
    "https://example.com/cb", "http://x_y.example/cb", "notaurl", "ftp://example.com/", "https://" + "a" * 5000,
    "AP" + "0" * 32, "SM" + "0" * 32, "MG" + "0" * 32, "PA" + "SM" + "0" * 32, "PBxyz", "2024-02-30",
    "2024-01-01", "Mon, 01 Jan 2024 00:00:00 +0000", "canceled", "redacted", "fax", "Active", "whatsapp:+15558675310",
    "\u0000", "%00", "\ud7ff", "😀" * 200, "x" * 1700, "{{1}}", '{"1": "a"}', "<RestException/>", "' OR 1=1 --",
]

CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
    "application/x-www-form-urlencoded; charset=latin-1", "text/plain", "application/json", "multipart/form-data",
    "multipart/form-data; boundary=", "multipart/form-data; boundary=xyz", "application/xml", "*/*", ";;;", "",
]

BROKEN_ENCODINGS = [b"%", b"%z", b"%zz", b"%f", b"%ff%fe", b"\xff\xfe\xfd", b"\xc3\x28", b"&&&", b"===", b"&=&=",
                    b"+", b"%2", b"%u00e9", b"\x00", b"Body=%E2%82", b"To", b"To=", b"=x"]

METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]
SUFFIXES = ["", ".json", ".xml", ".csv", ".JSON", ".json.json", "/", ".json/"]


@dataclass(frozen=True)
class Target:
    server: LoftServer
    sub_sid: str
    sub_token: str
    sender: str
    message_sid: str


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """A SQLite Loft of its own, so whatever the fuzzing leaves behind touches no other test."""
    server = make_server(Path(tmp_path_factory.mktemp("loft-fuzz")))
    with server.running():
        yield server


@pytest.fixture(scope="module")
def http(fuzz_server: LoftServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.base_url, timeout=30) as session:
        yield session


@pytest.fixture(scope="module")
def target(fuzz_server: LoftServer, http: httpx.Client) -> Target:
    main = (fuzz_server.account_sid, fuzz_server.auth_token)
    sub = clients.checked(http.post("/2010-04-01/Accounts.json", data={"FriendlyName": "fuzz"}, auth=main)).json()
    auth = (sub["sid"], sub["auth_token"])
    base = f"/2010-04-01/Accounts/{sub['sid']}"
    number = clients.checked(http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}, auth=auth))
    sender = number.json()["phone_number"]
    message = clients.checked(
        http.post(f"{base}/Messages.json", data={"To": "+15558675310", "From": sender, "Body": "seed"}, auth=auth)
    )
    return Target(fuzz_server, sub["sid"], sub["auth_token"], sender, message.json()["sid"])


def check(response: httpx.Response) -> None:
    """What must hold for any answer at all."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{request} -> {response.status_code}: {response.text[:500]}"
    assert "Traceback" not in response.text, f"{request} leaked a traceback: {response.text[:500]}"
    if response.request.method == "HEAD" or not response.content:
        return
    media_type = response.headers.get("content-type", "")
    if media_type.startswith("application/json"):
        data = json.loads(response.content)
        if response.status_code >= 400:
            assert openapi.ERROR_KEYS <= set(data), f"{request}: not Twilio's error shape: {data}"
            assert data["status"] == response.status_code, f"{request}: {data}"
            assert isinstance(data["code"], int) and data["more_info"].endswith(str(data["code"]))
    elif media_type.startswith("application/xml") and response.status_code >= 400:
        assert "<RestException>" in response.text and f"<Status>{response.status_code}</Status>" in response.text


# --- strategies ---------------------------------------------------------------------------------------------------

names = st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=20))
values = st.one_of(st.sampled_from(INTERESTING_VALUES), st.text(max_size=200))
pairs = st.lists(st.tuples(names, values), max_size=12)


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    """A form body: well-formed, with repeated keys, or broken here and there (bad escapes, non-UTF-8 bytes)."""
    fields = draw(pairs)
    repeated = draw(st.lists(st.sampled_from(["MediaUrl", "To", "Body", "PhoneNumber"]), max_size=3))
    fields += [(name, draw(values)) for name in repeated]
    body = urlencode(fields, encoding="utf-8", errors="surrogatepass").encode("utf-8", "surrogatepass")
    kind = draw(st.sampled_from(["clean", "broken", "bytes"]))
    if kind == "broken":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(body)))
            body = body[:at] + draw(st.sampled_from(BROKEN_ENCODINGS)) + body[at:]
    elif kind == "bytes":
        body = draw(st.binary(max_size=300))
    return body


def header_bytes() -> st.SearchStrategy[bytes]:
    """Any bytes HTTP/1.1 lets a header value carry: no NUL, CR, LF; no whitespace at either end."""
    forbidden = set(b"\x00\r\n\x0b\x0c")
    return st.binary(max_size=80).map(lambda raw: bytes(c for c in raw if c not in forbidden).strip(b" \t"))


@st.composite
def authorizations(draw: st.DrawFn, target: Target) -> bytes | None:
    choice = draw(st.sampled_from(
        ["sub", "sub", "sub", "main", "none", "garbage", "random-basic", "wrong-token", "other-scheme"]
    ))
    if choice == "sub":
        return _basic(target.sub_sid, target.sub_token).encode()
    if choice == "main":
        return _basic(target.server.account_sid, target.server.auth_token).encode()
    if choice == "none":
        return None
    if choice == "garbage":
        return draw(header_bytes())
    if choice == "random-basic":
        user = draw(st.text(max_size=40))
        password = draw(st.text(max_size=40))
        return b"Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass"))
    if choice == "wrong-token":
        return _basic(target.sub_sid, secrets.token_hex(16)).encode()
    scheme = draw(st.sampled_from([b"Bearer ", b"Digest ", b"basic ", b"BASIC ", b"Basic  "]))
    return (scheme + draw(header_bytes())).strip(b" \t")


@st.composite
def paths(draw: st.DrawFn, target: Target) -> str:
    segment = st.text(max_size=30).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe=""))
    account = draw(st.one_of(
        st.sampled_from([target.sub_sid, target.server.account_sid, "AC" + "0" * 32, "AC", "ac" + target.sub_sid[2:]]),
        segment,
    ))
    some_sid = st.one_of(st.sampled_from([target.message_sid, "SM" + "0" * 32, "MM" + "f" * 32, "PN" + "0" * 32]),
                         segment)
    resource = draw(st.sampled_from(
        ["", "/Messages", "/Messages/{sid}", "/Messages/{sid}/Media", "/Messages/{sid}/Media/{sid2}",
         "/Messages/{sid}/Feedback", "/IncomingPhoneNumbers", "/IncomingPhoneNumbers/{sid}", "/{seg}",
         "/Messages/{sid}/{seg}", "/{seg}/{seg2}"]
    ))
    resource = resource.format(sid=draw(some_sid), sid2=draw(some_sid), seg=draw(segment), seg2=draw(segment))
    if draw(st.booleans()) and draw(st.booleans()):
        return "/2010-04-01/Accounts" + draw(st.sampled_from(SUFFIXES))
    return f"/2010-04-01/Accounts/{account}{resource}{draw(st.sampled_from(SUFFIXES))}"


def _headers(content_type: bytes | None, authorization: bytes | None) -> dict[bytes, bytes]:
    headers = {}
    if content_type is not None:
        headers[b"Content-Type"] = content_type
    if authorization is not None:
        headers[b"Authorization"] = authorization
    return headers


content_types = st.one_of(st.none(), st.sampled_from(CONTENT_TYPES).map(str.encode), header_bytes())


# --- properties ---------------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), body=form_bodies(), content_type=content_types,
       resource=st.sampled_from(
           ["/Messages", "/IncomingPhoneNumbers", "/Messages/{message}", "/Messages/{message}/Feedback", ""]
       ),
       suffix=st.sampled_from([".json", ".xml", ""]))
def test_any_form_body_gets_a_twilio_answer(http: httpx.Client, target: Target, data: st.DataObject, body: bytes,
                                           content_type: bytes | None, resource: str, suffix: str) -> None:
    authorization = data.draw(authorizations(target))
    path = f"/2010-04-01/Accounts/{target.sub_sid}{resource.format(message=target.message_sid)}{suffix}"
    if not resource and data.draw(st.booleans()):
        path = f"/2010-04-01/Accounts{suffix}"
    check(http.post(path, content=body, headers=_headers(content_type, authorization)))


@FUZZ
@given(data=st.data(), method=st.sampled_from(METHODS), body=st.one_of(st.just(b""), form_bodies()),
       content_type=content_types, query=pairs)
def test_any_request_under_accounts_gets_a_twilio_answer(http: httpx.Client, target: Target, data: st.DataObject,
                                                        method: str, body: bytes, content_type: bytes | None,
                                                        query: list[tuple[str, str]]) -> None:
    path = data.draw(paths(target))
    authorization = data.draw(authorizations(target))
    url = path + ("?" + urlencode(query, errors="surrogatepass") if query else "")
    response = http.request(method, url, content=body or None, headers=_headers(content_type, authorization))
    check(response)


@FUZZ
@given(query=pairs, resource=st.sampled_from(["/Messages", "/IncomingPhoneNumbers", "/Messages/{message}/Media", ""]),
       suffix=st.sampled_from([".json", ".xml"]), broken=st.lists(st.sampled_from(BROKEN_ENCODINGS), max_size=3))
def test_any_list_query_gets_a_twilio_answer(http: httpx.Client, target: Target, query: list[tuple[str, str]],
                                            resource: str, suffix: str, broken: list[bytes]) -> None:
    base = f"/2010-04-01/Accounts/{target.sub_sid}{resource.format(message=target.message_sid)}" if resource else \
        "/2010-04-01/Accounts"
    raw_query = urlencode(query, errors="surrogatepass") + "".join(quote(piece, safe="%=&+") for piece in broken)
    url = base + suffix + ("?" + raw_query if raw_query else "")
    response = http.get(url, headers={"Authorization": _basic(target.sub_sid, target.sub_token)})
    check(response)
    if response.status_code == 200 and suffix == ".json":
        clients.checked(response)


def test_server_is_healthy_after_the_fuzzing(fuzz_server: LoftServer, http: httpx.Client, target: Target) -> None:
    assert http.get("/healthz").status_code == 200
    auth = (target.sub_sid, target.sub_token)
    base = f"/2010-04-01/Accounts/{target.sub_sid}"
    sent = clients.checked(http.post(f"{base}/Messages.json", auth=auth,
                                     data={"To": "+15558675310", "From": target.sender, "Body": "still here"}))
    assert sent.status_code == 201
    fetched = clients.checked(http.get(f"{base}/Messages/{sent.json()['sid']}.json", auth=auth))
    assert fetched.status_code == 200 and fetched.json()["body"] == "still here"
    assert fuzz_server.process is not None and fuzz_server.process.poll() is None
    assert "Traceback" not in fuzz_server.log()


# --- hostile values, on both backends ------------------------------------------------------------------------------

#: Values that once reached a database or Python's calendar unchecked (issue 17): NUL characters, integers past
#: 64 bits, dates past the calendar, floats that are not numbers, and sheer size.
HOSTILE_VALUES = [
    "\x00", "a\x00b", "+1555867\x005310", "%00", "9" * 20, "-" + "9" * 20, "9" * 4400, "18446744073709551616",
    "9223372036854775808", "-9223372036854775809", "9999-12-31", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00",
    "0001-01-01", "0000-00-00", "99999-01-01", "2024-13-45", "+99999days", "-99999days", "1e309", "-1e309", "nan",
    "inf", "-0", "0x10", "１２", "٣", "x" * 20_000, "\u2028", "\x1b[31m", "\r\n", "90,180", "nan,nan", "1e309,0",
]
HOSTILE_PARAMETERS = [
    *PARAMETERS, "StartDate", "EndDate", "Category", "IncludeSubaccounts", "DateCreated<", "DateCreated>", "Contains",
    "InRegion", "InPostalCode", "NearLatLong", "NearNumber", "Distance", "InLata", "InRateCenter", "InLocality",
    "SmsEnabled", "MmsEnabled", "ExcludeAllAddressRequired", "FallbackUrl", "StatusCallback",
]
hostile_values = st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=40).map(lambda s: s + "\x00" + s),
                           st.integers(min_value=-(10**30), max_value=10**30).map(str))
hostile_pairs = st.lists(st.tuples(st.sampled_from(HOSTILE_PARAMETERS), hostile_values), min_size=1, max_size=6)
hostile_segments = st.one_of(st.sampled_from(["SM\x00", "PN" + "0" * 31 + "\x00", "\x00", "9" * 20, "x" * 3000,
                                              "AP" + "0" * 32, "SK" + "f" * 32, "%", "..", "\r\n"]),
                             hostile_values)

LISTS = ["/Messages", "/Messages/{message}/Media", "/IncomingPhoneNumbers", "/Applications", "/Keys",
         "/Usage/Records", "/Usage/Records/Daily", "/Usage/Records/Monthly", "/Usage/Records/Yearly",
         "/AvailablePhoneNumbers/US/Local", "/AvailablePhoneNumbers/US/TollFree"]
FETCHES = ["/Messages/{sid}", "/IncomingPhoneNumbers/{sid}", "/Applications/{sid}", "/Keys/{sid}",
           "/Messages/{message}/Media/{sid}", "/{sid}"]
CREATES = ["/Messages", "/IncomingPhoneNumbers", "/Applications", "/Keys", "/Messages/{message}", "/Messages/{sid}"]


@pytest.fixture
def backend(loft: LoftServer, client: Client, sender: str) -> Iterator[tuple[httpx.Client, str, str]]:
    """A raw client of a fresh subaccount on the backend of the ``loft`` fixture, its base path and a message."""
    message = client.messages.create(to="+15558675310", from_=sender, body="seed").sid
    account = (client.username, client.password)
    with httpx.Client(base_url=loft.base_url, auth=account, timeout=60) as http:
        yield http, f"/2010-04-01/Accounts/{client.username}", message


HOSTILE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HOSTILE
@given(data=st.data(), query=hostile_pairs, suffix=st.sampled_from([".json", ".xml"]))
def test_hostile_list_queries_get_a_twilio_answer_on_both_backends(
        backend: tuple[httpx.Client, str, str], data: st.DataObject, query: list[tuple[str, str]], suffix: str
) -> None:
    http, base, message = backend
    resource = data.draw(st.sampled_from(LISTS)).format(message=message)
    check(http.get(f"{base}{resource}{suffix}?{urlencode(query)}"))


@HOSTILE
@given(data=st.data(), segment=hostile_segments, method=st.sampled_from(["GET", "DELETE"]),
       suffix=st.sampled_from([".json", ""]))
def test_hostile_sids_get_a_twilio_answer_on_both_backends(
        backend: tuple[httpx.Client, str, str], data: st.DataObject, segment: str, method: str, suffix: str
) -> None:
    http, base, message = backend
    resource = data.draw(st.sampled_from(FETCHES)).format(message=message, sid=quote(segment, safe=""))
    check(http.request(method, f"{base}{resource}{suffix}"))


@HOSTILE
@given(data=st.data(), form=hostile_pairs, suffix=st.sampled_from([".json", ".xml"]))
def test_hostile_forms_get_a_twilio_answer_on_both_backends(
        backend: tuple[httpx.Client, str, str], data: st.DataObject, form: list[tuple[str, str]], suffix: str
) -> None:
    http, base, message = backend
    resource = data.draw(st.sampled_from(CREATES)).format(message=message,
                                                         sid=quote(data.draw(hostile_segments), safe=""))
    if resource == "/Messages":  # a create that gets as far as it can: a sender and a recipient it may not refuse
        form = [("To", "+15558675310"), ("From", "+15005550006"), *form]
    check(http.post(f"{base}{resource}{suffix}", content=urlencode(form).encode(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"}))
