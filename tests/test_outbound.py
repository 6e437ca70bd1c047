"""The outbound guard: which addresses Loft may connect to on a tenant's behalf, checked at each connection."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from loft import outbound
from loft.config import Settings
from loft.webhooks.sender import Outcome, WebhookRequest, send
from tests.support import receiver as receivers

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("deny", "address", "allowed"),
    [
        pytest.param("link-local,metadata", "169.254.169.254", False, id="aws-metadata"),
        pytest.param("link-local,metadata", "fd00:ec2::254", False, id="aws-metadata-ipv6"),
        pytest.param("link-local,metadata", "100.100.100.200", False, id="alibaba-metadata"),
        pytest.param("link-local,metadata", "fe80::1%eth0", False, id="scoped-link-local"),
        pytest.param("link-local,metadata", "::ffff:169.254.169.254", False, id="ipv4-mapped"),
        pytest.param("link-local,metadata", "64:ff9b::a9fe:a9fe", False, id="nat64"),
        pytest.param("link-local,metadata", "2002:a9fe:a9fe::1", False, id="6to4"),
        pytest.param("link-local,metadata", "127.0.0.1", True, id="loopback-allowed-by-default"),
        pytest.param("link-local,metadata", "10.1.2.3", True, id="private-allowed-by-default"),
        pytest.param("loopback", "127.3.4.5", False, id="loopback"),
        pytest.param("loopback", "::1", False, id="loopback-ipv6"),
        pytest.param("loopback", "0.0.0.0", False, id="unspecified-reaches-the-machine"),
        pytest.param("loopback", "::ffff:127.0.0.1", False, id="loopback-mapped"),
        pytest.param("private", "172.20.0.1", False, id="private"),
        pytest.param("private", "fd12::1", False, id="unique-local"),
        pytest.param("private", "8.8.8.8", True, id="public"),
        pytest.param(" 10.0.0.0/8 , 192.0.2.7 ", "192.0.2.7", False, id="cidrs-with-spaces"),
        pytest.param("", "169.254.169.254", True, id="nothing-denied"),
        pytest.param("loopback", "not an address", False, id="unparsable-is-never-allowed"),
    ],
)
def test_the_guard_checks_an_address_and_the_ipv4_address_it_stands_for(deny: str, address: str,
                                                                          allowed: bool) -> None:
    assert outbound.Guard.of(deny).allows(address) is allowed


def test_names_expand_to_their_networks() -> None:
    assert ipaddress.ip_network("169.254.0.0/16") in outbound.networks("LINK-LOCAL")
    assert len(outbound.networks("loopback,private,link-local,metadata")) == sum(map(len, outbound.GROUPS.values()))


@pytest.mark.parametrize("text", ["10.0.0.0/33", "intranet", "10.0.0.0/8,example.com"])
def test_a_bad_deny_list_stops_the_settings_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(outbound_deny=text)
    assert "LOFT_OUTBOUND_DENY" in str(refused.value) and "neither a CIDR" in str(refused.value)


@pytest.fixture
def denied_receiver() -> Iterator[receivers.Receiver]:
    """A receiver on 127.0.0.2 (the loopback interface answers on all of 127.0.0.0/8), which the tests deny."""
    started = receivers.start("127.0.0.2")
    try:
        yield started
    finally:
        started.close()


def post(url: str, deny: str) -> Outcome:
    async def go() -> Outcome:
        async with outbound.client(outbound.Guard.of(deny)) as client:
            return await send(client, WebhookRequest(url=url, method="POST", params=[("Body", "hi")],
                                                     auth_token=TOKEN, idempotency_token="t"))

    return asyncio.run(go())


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("127.0.0.2", id="ip-literal"),
        pytest.param("0x7f000002", id="hexadecimal-resolved-by-getaddrinfo"),
        pytest.param("carol:secret@127.0.0.2", id="with-credentials"),
    ],
)
def test_a_denied_address_gets_no_request_however_it_is_spelled(denied_receiver: receivers.Receiver,
                                                                 spelling: str) -> None:
    port = denied_receiver.base_url.rsplit(":", 1)[1]
    outcome = post(f"http://{spelling}:{port}/hook", "127.0.0.2/32")
    assert not outcome.ok
    assert [(a.error_code, a.status_code, a.response_excerpt) for a in outcome.attempts] == [(11200, None, "")]
    assert "LOFT_OUTBOUND_DENY" in (outcome.attempts[0].error_message or "")
    assert denied_receiver.requests == []


def test_a_host_name_is_checked_at_every_address_it_resolves_to() -> None:
    receiver = receivers.start("127.0.0.1")
    try:
        port = receiver.base_url.rsplit(":", 1)[1]
        refused = post(f"http://localhost:{port}/hook", "loopback")  # 127.0.0.1 and ::1 both denied
        assert [a.error_code for a in refused.attempts] == [11200] and receiver.requests == []
        allowed = post(f"http://localhost:{port}/hook", "127.0.0.2/32")
        assert allowed.ok and [r.path for r in receiver.requests] == ["/hook"]
    finally:
        receiver.close()


def test_what_the_guard_allows_is_requested_as_before(denied_receiver: receivers.Receiver) -> None:
    outcome = post(denied_receiver.url("/hook"), "link-local,metadata")
    assert outcome.ok and [r.form for r in denied_receiver.requests] == [[("Body", "hi")]]
