"""Revision 0004 on an installation that has data: global handset settings become the main account's, and the
numbers of accounts closed before it are released."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import make_server
from tests.support import clients
from tests.support.migrations import migrate
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually


def test_global_settings_become_the_main_accounts_and_closed_accounts_lose_their_numbers(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    with server.running():
        main = clients.sdk(server.base_url, server.account_sid, server.auth_token)
        sub = main.api.accounts.create(friendly_name="sub")
        sender = main.api.accounts(sub.sid).incoming_phone_numbers.create(area_code="415").phone_number
        gone = main.api.accounts.create(friendly_name="closed before 0004")
        kept = main.api.accounts(gone.sid).incoming_phone_numbers.create(area_code="415").phone_number
    database = tmp_path / "loft.db"
    migrate(database, "0003", down=True)
    with sqlite3.connect(database) as raw:  # what the old code wrote: one global row; a close that kept numbers
        raw.execute("INSERT INTO handsets VALUES ('+15558679201', 'unreachable', 0, '2026-01-01 00:00:00.000000', "
                    "'2026-01-01 00:00:00.000000')")
        raw.execute("UPDATE accounts SET status = 'closed' WHERE sid = ?", (gone.sid,))
    raw.close()

    with server.running():  # migrates to the head
        handset = Sim(server.base_url, (server.account_sid, server.auth_token))
        try:
            assert handset.http.get("/sim/v1/Handsets/+15558679201").json()["behavior"] == "unreachable"
            sub_client = clients.sdk(server.base_url, sub.sid, sub.auth_token)
            message = sub_client.messages.create(to="+15558679201", from_=sender, body="still unreachable")
            eventually(lambda: status_of(sub_client, message.sid) == "undelivered")
            assert main.api.accounts(gone.sid).incoming_phone_numbers.list() == []
            response = handset.http.post("/sim/v1/Handsets/+15558679202/Messages", data={"To": kept, "Body": "hi"})
            assert response.status_code == 404, response.text
        finally:
            handset.http.close()

    # And back: the main account's row is the global one again.
    migrate(database, "0003", down=True)
    with sqlite3.connect(database) as raw:
        rows = raw.execute("SELECT phone_number, behavior FROM handsets").fetchall()
    raw.close()
    assert rows == [("+15558679201", "unreachable")]
    migrate(database, "head")
