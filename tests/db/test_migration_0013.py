"""Revision 0013 on an installation that has data: handsets have no RCS, and what they received before keeps its
channel (``mms`` with media, ``sms`` without) and no content."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import make_server
from tests.support.migrations import migrate
from tests.support.sim import Sim


def test_handsets_and_their_inbox_from_before_rcs(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    with server.running():
        sim = Sim(server.base_url, (server.account_sid, server.auth_token))
        try:
            sim.configure("+15558679301", Behavior="no-receipt")
        finally:
            sim.http.close()
    database = tmp_path / "loft.db"
    migrate(database, "0012_sticky_senders", down=True)
    with sqlite3.connect(database) as raw:  # what the old carrier wrote: no channel, no content
        for sid, media in (("SM" + "1" * 32, "[]"), ("MM" + "2" * 32, '["https://example.com/a.png"]')):
            raw.execute("INSERT INTO handset_inbox (phone_number, account_sid, message_sid, from_addr, body, "
                        "media_urls, date_received) VALUES ('+15558679301', ?, ?, '+14155550100', 'old', ?, "
                        "'2026-01-01 00:00:00.000000')", (server.account_sid, sid, media))
    raw.close()

    with server.running():  # migrates to the head
        sim = Sim(server.base_url, (server.account_sid, server.auth_token))
        try:
            assert sim.http.get("/sim/v1/Handsets/+15558679301").json() == {
                "phone_number": "+15558679301", "behavior": "no-receipt", "receipt_delay_ms": 0, "rcs": False}
            assert [(m["sid"][:2], m["channel"], m["content"]) for m in sim.inbox("+15558679301")] == [
                ("MM", "mms", None), ("SM", "sms", None)]
        finally:
            sim.http.close()
