"""Handset settings belong to the account that made them: they apply to its sends and its subaccounts', never
to a sibling's or a parent's, and nobody sees another account's settings."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from twilio.rest import Client

from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually


@dataclass
class Tenant:
    sid: str
    token: str
    client: Client
    sim: Sim
    sender: str


@pytest.fixture
def tenants(loft: LoftServer, main_client: Client) -> Iterator[list[Tenant]]:
    """Two sibling subaccounts of the main account, each with a number to send from."""
    made = []
    for name in ("tenant A", "tenant B"):
        created = main_client.api.accounts.create(friendly_name=name)
        client = clients.sdk(loft.base_url, created.sid, created.auth_token)
        sender = client.incoming_phone_numbers.create(area_code="415").phone_number
        handsets = Sim(loft.base_url, (created.sid, created.auth_token))
        made.append(Tenant(created.sid, created.auth_token, client, handsets, sender))
    try:
        yield made
    finally:
        for tenant in made:
            tenant.sim.http.close()


def _ends(client: Client, sender: str, handset: str) -> tuple[str, int | None]:
    message = client.messages.create(to=handset, from_=sender, body="scoped?")
    eventually(lambda: status_of(client, message.sid) in ("delivered", "undelivered"))
    fetched = client.messages(message.sid).fetch()
    return str(fetched.status), fetched.error_code


def test_a_subaccounts_setting_applies_to_its_own_sends_only(
    tenants: list[Tenant], main_client: Client, main_sim: Sim
) -> None:
    a, b = tenants
    handset = "+15558679001"
    assert a.sim.configure(handset, Behavior="unreachable")["behavior"] == "unreachable"

    assert _ends(a.client, a.sender, handset) == ("undelivered", 30003)
    assert _ends(b.client, b.sender, handset) == ("delivered", None)  # a sibling: unaffected
    main_sender = main_client.incoming_phone_numbers.create(area_code="415").phone_number
    try:
        assert _ends(main_client, main_sender, handset) == ("delivered", None)  # the parent: unaffected
    finally:
        main_client.incoming_phone_numbers.list(phone_number=main_sender)[0].delete()
    # Each sees its own view: A's setting is A's alone.
    assert a.sim.http.get(f"/sim/v1/Handsets/{handset}").json()["behavior"] == "unreachable"
    assert b.sim.http.get(f"/sim/v1/Handsets/{handset}").json() == {
        "phone_number": handset, "behavior": "deliver", "receipt_delay_ms": 0, "rcs": False}
    assert main_sim.http.get(f"/sim/v1/Handsets/{handset}").json()["behavior"] == "deliver"
    # The handset got B's message, and A cannot read it.
    assert [m["body"] for m in b.sim.inbox(handset)] == ["scoped?"]
    assert a.sim.inbox(handset) == []


def test_a_parents_setting_applies_to_its_subaccounts_until_they_set_their_own(
    tenants: list[Tenant], main_sim: Sim
) -> None:
    a, b = tenants
    handset = "+15558679002"
    main_sim.configure(handset, Behavior="filtered", ReceiptDelayMs=0)
    try:
        assert a.sim.http.get(f"/sim/v1/Handsets/{handset}").json()["behavior"] == "filtered"
        assert _ends(a.client, a.sender, handset) == ("undelivered", 30007)
        # A's own setting wins over its parent's, for A only; starting from what applied (filtered).
        assert a.sim.configure(handset, ReceiptDelayMs=10) == {
            "phone_number": handset, "behavior": "filtered", "receipt_delay_ms": 10, "rcs": False}
        a.sim.configure(handset, Behavior="deliver")
        assert _ends(a.client, a.sender, handset) == ("delivered", None)
        assert _ends(b.client, b.sender, handset) == ("undelivered", 30007)
    finally:
        main_sim.configure(handset, Behavior="deliver")  # the main account is every test's parent


def test_a_burst_from_two_accounts_to_one_handset_ends_as_each_accounts_setting_says(
    tenants: list[Tenant], loft: LoftServer
) -> None:
    """Sends created at once are handed to the simulator in batches whose settings are read in one query: each
    send must still get its own account's setting."""
    a, b = tenants
    handset = "+15558679003"
    a.sim.configure(handset, Behavior="landline")

    def create(i: int) -> tuple[Tenant, str]:
        tenant = tenants[i % 2]
        with httpx.Client(auth=(tenant.sid, tenant.token), timeout=30) as http:
            response = http.post(f"{loft.base_url}/2010-04-01/Accounts/{tenant.sid}/Messages.json",
                                 data={"To": handset, "From": tenant.sender, "Body": f"burst {i}"})
        assert response.status_code == 201, response.text
        return tenant, str(response.json()["sid"])

    with ThreadPoolExecutor(16) as pool:
        created = list(pool.map(create, range(48)))
    for tenant, sid in created:
        eventually(lambda: status_of(tenant.client, sid) in ("delivered", "undelivered"))
        fetched = tenant.client.messages(sid).fetch()
        expected = ("undelivered", 30006) if tenant is a else ("delivered", None)
        assert (fetched.status, fetched.error_code) == expected
    assert len(b.sim.inbox(handset)) == 24 and a.sim.inbox(handset) == []
