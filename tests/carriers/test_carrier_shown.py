"""Which carrier took a message, and its reference there, as the API (``/loft/v1/…/Deliveries``), ``loft tail``
and the console show them, for a message relayed to an upstream Loft; a simulator's message shows none."""

from __future__ import annotations

from contextlib import closing

import httpx
from playwright.sync_api import expect
from typer.testing import CliRunner

from loft.cli import app
from tests.console.helpers import sign_in
from tests.support import relay
from tests.support.browser import chromium
from tests.support.relay import Line
from tests.support.server import LoftServer
from tests.support.waiting import eventually


def _relayed(line: Line) -> tuple[str, str]:
    """A message the relay took and the upstream delivered: (its SID here, the upstream's SID of it)."""
    to = relay.destination()
    sent = line.tenant.messages.create(to=to, from_=line.number, body="which way did it go?")
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered")
    upstream = [m for m in line.upstream.messages.list(to=to) if m.direction == "outbound-api"]
    assert len(upstream) == 1
    return str(sent.sid), str(upstream[0].sid)


def _deliveries(front: LoftServer, line: Line, sid: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{front.base_url}/loft/v1/Accounts/{line.tenant_auth[0]}/Messages/{sid}/Deliveries",
                       auth=line.tenant_auth, timeout=30)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()["deliveries"]
    return found


def test_the_api_lists_the_carrier_its_reference_and_its_report(front: LoftServer, line: Line) -> None:
    sid, upstream_sid = _relayed(line)
    [delivery] = _deliveries(front, line, sid)
    assert (delivery["carrier"], delivery["reference"], delivery["status"]) == (relay.NAME, upstream_sid, "delivered")
    assert delivery["parts"] == [{"reference": upstream_sid, "status": "delivered"}]
    reports = delivery["detail"]["reports"]  # type: ignore[index]
    assert [report["outcome"] for report in reports if report["outcome"] == "delivered"] == ["delivered"]


def test_a_message_the_simulator_took_has_no_hand_off(front: LoftServer, line: Line) -> None:
    sent = line.tenant.messages.create(to="+15558675310", from_=line.number, body="stays on the simulator")
    eventually(lambda: line.tenant.messages(sent.sid).fetch().status == "delivered")
    assert _deliveries(front, line, str(sent.sid)) == []


def test_another_account_cannot_read_a_messages_hand_offs(front: LoftServer, line: Line, upstream: LoftServer,
                                                          ) -> None:
    sid, _ = _relayed(line)
    with closing(relay.open_line(upstream, front)) as other:
        answer = httpx.get(f"{front.base_url}/loft/v1/Accounts/{other.tenant_auth[0]}/Messages/{sid}/Deliveries",
                           auth=other.tenant_auth, timeout=30)
    assert answer.status_code == 404


def test_loft_tail_prints_the_carrier_and_its_reference(front: LoftServer, line: Line) -> None:
    sid, upstream_sid = _relayed(line)
    result = CliRunner().invoke(app, ["tail", "--once", "--no-webhooks", "--url", front.base_url, "--account-sid",
                                      line.tenant_auth[0], "--auth-token", line.tenant_auth[1]],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    mine = [text for text in result.output.splitlines() if sid in text]
    assert "delivered" in mine[0]
    assert any(f"↳ carrier {relay.NAME} ref {upstream_sid} delivered" in text for text in mine[1:]), result.output


def test_the_console_message_page_shows_the_carrier_and_its_reference(front: LoftServer, line: Line) -> None:
    sid, upstream_sid = _relayed(line)
    # Chromium for this test only: Playwright's event loop must be gone before the next module-scoped servers
    # start (the PostgreSQL ones make their database with asyncio.run).
    with chromium() as browser:
        context = browser.new_context(base_url=front.base_url)
        page = context.new_page()
        sign_in(page, *line.tenant_auth)
        page.goto(f"/console/messages/{sid}")
        row = page.locator("#carrier tr.delivery")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(relay.NAME)
        expect(row).to_contain_text(upstream_sid)
        expect(row).to_contain_text("delivered")
