"""Credential checks reuse what authentication read (loft.accounts.credentials): a change made through the same
process applies at once, a change made by another process sharing the database within ``credentials.TTL``."""

from __future__ import annotations

import asyncio
import time

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from loft.accounts import credentials
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.waiting import eventually


def test_an_entry_lasts_until_a_change_or_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    cache = credentials.CredentialCache()
    cache.put("AC1", "account", generation=credentials.generation())
    assert cache.get("AC1") == "account"
    clock[0] += credentials.TTL + 0.01
    assert cache.get("AC1") is None  # too old

    cache.put("AC1", "account", generation=credentials.generation())
    credentials.changed()
    assert cache.get("AC1") is None  # something was written since it was read

    before = credentials.generation()
    credentials.changed()  # a write while the read was on its way: what it read may be the old value
    cache.put("AC1", "stale?", generation=before)
    assert cache.get("AC1") is None


def _refused(client: Client, sid: str) -> bool:
    try:
        client.api.accounts(sid).fetch()
    except TwilioRestException as exc:
        assert exc.status == 401
        return True
    return False


def test_a_closed_account_is_refused_at_once_here_and_within_the_ttl_elsewhere(
        two_servers: tuple[LoftServer, LoftServer]) -> None:
    first, second = two_servers
    main = clients.sdk(first.base_url, first.account_sid, first.auth_token)
    created = main.api.accounts.create(friendly_name="closing")
    here = clients.sdk(first.base_url, created.sid, created.auth_token)
    elsewhere = clients.sdk(second.base_url, created.sid, created.auth_token)
    assert here.api.accounts(created.sid).fetch().status == "active"
    assert elsewhere.api.accounts(created.sid).fetch().status == "active"  # the other process has it cached now

    main.api.accounts(created.sid).update(status="closed")
    closed_at = time.monotonic()
    assert _refused(here, created.sid)  # the process that made the change forgot its entry
    eventually(lambda: _refused(elsewhere, created.sid), timeout=credentials.TTL + 5)
    assert time.monotonic() - closed_at < credentials.TTL + 5


def test_a_deleted_key_stops_working_at_once(loft: LoftServer, account: tuple[str, str]) -> None:
    owner = clients.sdk(loft.base_url, *account)
    key = owner.new_keys.create(friendly_name="short-lived")
    with_key = clients.sdk(loft.base_url, key.sid, key.secret, account[0])
    assert with_key.api.v2010.account.balance.fetch() is not None  # cached now
    assert owner.keys(key.sid).delete() is True
    with pytest.raises(TwilioRestException) as refused:
        with_key.api.v2010.account.balance.fetch()
    assert refused.value.status == 401


def test_callers_missing_the_same_sid_share_one_read() -> None:
    """Misses of one SID at the same moment make one read; the others wait for it. A failed read fails its
    waiters too (and is not kept); a cancelled reader leaves its waiters to read for themselves."""

    async def body() -> None:
        cache = credentials.CredentialCache()
        reads: list[str] = []
        gate = asyncio.Event()

        async def read() -> str:
            reads.append("read")
            await gate.wait()
            return "account"

        callers = [asyncio.ensure_future(cache.fetch("AC1", read)) for _ in range(5)]
        await asyncio.sleep(0)
        gate.set()
        assert await asyncio.gather(*callers) == ["account"] * 5
        assert reads == ["read"]
        assert await cache.fetch("AC1", read) == "account" and reads == ["read"]  # kept

        async def broken() -> str:
            await asyncio.sleep(0)
            raise ConnectionError("database away")

        failing = [asyncio.ensure_future(cache.fetch("AC2", broken)) for _ in range(3)]
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
        assert cache.get("AC2") is None

        stuck = asyncio.Event()

        async def stalled() -> str:
            await stuck.wait()
            return "never"

        reader = asyncio.ensure_future(cache.fetch("AC3", stalled))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(cache.fetch("AC3", read))
        await asyncio.sleep(0)
        reader.cancel()
        gate.set()
        assert await waiter == "account"
        assert reads == ["read", "read"]

    asyncio.run(body())


def test_a_value_read_across_a_change_is_not_kept() -> None:
    async def body() -> None:
        cache = credentials.CredentialCache()

        async def read() -> str:
            credentials.changed()  # an account written while it was being read
            return "stale"

        assert await cache.fetch("AC1", read) == "stale"
        assert cache.get("AC1") is None

    asyncio.run(body())
