"""HTTP Basic authentication and who may act on which account, as Twilio answers it (20003, 401 and 403)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def http(loft: LoftServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=loft.base_url, timeout=30) as session:
        yield session


@pytest.fixture
def sibling(main_client: Client) -> tuple[str, str]:
    created = main_client.api.accounts.create(friendly_name="sibling")
    return created.sid, created.auth_token


def messages_path(account_sid: str, suffix: str = ".json") -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Messages{suffix}"


def test_no_credentials_is_401_with_a_challenge(http: httpx.Client, account: tuple[str, str]) -> None:
    response = clients.checked(http.get(messages_path(account[0])))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("basic")
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == 20003 and body["status"] == 401
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20003"


def test_no_credentials_on_the_xml_path_is_an_xml_rest_exception(http: httpx.Client, account: tuple[str, str]) -> None:
    for suffix in (".xml", ""):
        response = http.get(messages_path(account[0], suffix))
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/xml")
        assert "www-authenticate" in response.headers
        assert "<RestException>" in response.text
        assert "<Code>20003</Code>" in response.text and "<Status>401</Status>" in response.text


BAD_AUTHORIZATION = [
    pytest.param("Basic !!!not-base64!!!", id="malformed-base64"),
    pytest.param("Basic " + base64.b64encode(b"no-colon-here").decode(), id="no-colon"),
    pytest.param("Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), id="not-utf8"),
    pytest.param("Basic", id="scheme-only"),
    pytest.param("Bearer abcdef.ghijkl.mnopqr", id="bearer"),
    pytest.param("Digest username=\"AC\"", id="digest"),
    pytest.param(basic("", ""), id="empty-user-and-password"),
    pytest.param(basic("not-a-sid", "x"), id="username-not-a-sid"),
    pytest.param(basic("AC" + "0" * 32, "x"), id="unknown-account"),
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
def test_unusable_authorization_is_401_never_500(http: httpx.Client, account: tuple[str, str],
                                                 authorization: str) -> None:
    form = {"To": "+15558675310", "From": "+15005550006", "Body": "hi"}
    for method in ("GET", "POST"):
        response = clients.checked(
            http.request(method, messages_path(account[0]), headers={"Authorization": authorization},
                         data=form if method == "POST" else None)
        )
        assert response.status_code == 401, response.text
        assert response.json()["code"] == 20003
        assert "www-authenticate" in response.headers


@pytest.mark.parametrize("authorization", [b"Basic \x80\x81", b"Basic QUM\xe9"], ids=["latin1-bytes", "mixed"])
def test_non_ascii_authorization_is_401_never_500(http: httpx.Client, account: tuple[str, str],
                                                  authorization: bytes) -> None:
    response = clients.checked(http.get(messages_path(account[0]), headers={b"Authorization": authorization}))
    assert response.status_code == 401
    assert response.json()["code"] == 20003


def test_wrong_token_is_401(http: httpx.Client, account: tuple[str, str]) -> None:
    sid, token = account
    wrong = token[:-1] + ("0" if token[-1] != "0" else "1")
    for password in (wrong, token.upper() if token.upper() != token else token + "x", "", token + token):
        response = clients.checked(http.get(messages_path(sid), headers={"Authorization": basic(sid, password)}))
        assert response.status_code == 401
        assert response.json()["code"] == 20003


def test_right_token_is_200(http: httpx.Client, account: tuple[str, str]) -> None:
    sid, token = account
    response = clients.checked(http.get(messages_path(sid), headers={"Authorization": basic(sid, token)}))
    assert response.status_code == 200
    assert response.json()["messages"] == []


def test_lowercase_basic_scheme_is_accepted(http: httpx.Client, account: tuple[str, str]) -> None:
    sid, token = account
    response = clients.checked(
        http.get(messages_path(sid), headers={"Authorization": "basic " + basic(sid, token).split(" ", 1)[1]})
    )
    assert response.status_code == 200


def test_sdk_with_a_wrong_token_raises_401(loft: LoftServer, account: tuple[str, str]) -> None:
    wrong = clients.sdk(loft.base_url, account[0], "0" * 32)
    with pytest.raises(TwilioRestException) as info:
        wrong.messages.create(to="+15558675310", from_="+15005550006", body="hi")
    assert info.value.status == 401 and info.value.code == 20003
    with pytest.raises(TwilioException):
        wrong.messages.list()


def test_subaccount_credentials_cannot_reach_the_parent(loft: LoftServer, http: httpx.Client,
                                                        account: tuple[str, str]) -> None:
    sid, token = account
    for path in (messages_path(loft.account_sid), f"/2010-04-01/Accounts/{loft.account_sid}.json",
                 f"/2010-04-01/Accounts/{loft.account_sid}/IncomingPhoneNumbers.json"):
        response = clients.checked(http.get(path, headers={"Authorization": basic(sid, token)}))
        assert response.status_code == 403, path
        assert response.json()["code"] == 20003
        assert "www-authenticate" not in response.headers


def test_subaccount_credentials_cannot_reach_a_sibling(http: httpx.Client, account: tuple[str, str],
                                                      sibling: tuple[str, str]) -> None:
    sid, token = account
    headers = {"Authorization": basic(sid, token)}
    listing = clients.checked(http.get(messages_path(sibling[0]), headers=headers))
    assert listing.status_code == 403 and listing.json()["code"] == 20003
    sending = clients.checked(
        http.post(messages_path(sibling[0]), headers=headers,
                  data={"To": "+15558675310", "From": "+15005550006", "Body": "hi"})
    )
    assert sending.status_code == 403
    fetching = clients.checked(http.get(f"/2010-04-01/Accounts/{sibling[0]}.json", headers=headers))
    assert fetching.status_code == 403


def test_sdk_subaccount_on_the_parent_raises_403(loft: LoftServer, account: tuple[str, str]) -> None:
    sub = clients.sdk(loft.base_url, *account, account_sid=loft.account_sid)
    with pytest.raises(TwilioRestException) as info:
        sub.messages.create(to="+15558675310", from_="+15005550006", body="hi")
    assert info.value.status == 403 and info.value.code == 20003


def test_unknown_account_in_the_path_is_403(loft: LoftServer, http: httpx.Client) -> None:
    headers = {"Authorization": basic(loft.account_sid, loft.auth_token)}
    for sid in ("AC" + "f" * 32, "not-an-account"):
        response = clients.checked(http.get(messages_path(sid), headers=headers))
        assert response.status_code == 403, sid
        assert response.json()["code"] == 20003


def test_parent_credentials_reach_a_subaccount(loft: LoftServer, client: Client, sender: str) -> None:
    parent = clients.sdk(loft.base_url, loft.account_sid, loft.auth_token, account_sid=client.account_sid)
    assert parent.messages.list() == []
    message = parent.messages.create(to="+15558675310", from_=sender, body="sent by the parent")
    assert message.account_sid == client.account_sid
    assert [m.sid for m in client.messages.list()] == [message.sid]
    assert [m.sid for m in parent.messages.list()] == [message.sid]


def test_parent_cannot_send_from_a_number_only_its_subaccount_owns(main_client: Client, sender: str) -> None:
    with pytest.raises(TwilioRestException) as info:
        main_client.messages.create(to="+15558675310", from_=sender, body="hi")
    assert info.value.code == 21606


def test_auth_tokens_never_reach_the_server_log(loft: LoftServer, http: httpx.Client, account: tuple[str, str],
                                                sibling: tuple[str, str]) -> None:
    sid, token = account
    wrong = "f" * 32 if token != "f" * 32 else "e" * 32
    attempts = [
        (sid, token, messages_path(sid)),  # fine
        (sid, token, messages_path(loft.account_sid)),  # 403
        (sid, token, messages_path(sibling[0])),  # 403
        (sid, wrong, messages_path(sid)),  # 401
        ("AC" + "0" * 32, token, messages_path(sid)),  # 401
        (sid, token, f"/2010-04-01/Accounts/{sid}/Nothing.json"),  # 404
        (sibling[0], sibling[1], messages_path(sibling[0])),
    ]
    for username, password, path in attempts:
        http.get(path, headers={"Authorization": basic(username, password)})
        http.post(path, headers={"Authorization": basic(username, password)}, content=b"To=%ZZ&Body=\xff")
    log = loft.log()
    for secret in (token, wrong, sibling[1]):
        assert secret not in log
        assert base64.b64encode(f"{sid}:{secret}".encode()).decode() not in log
