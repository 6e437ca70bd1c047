"""Fetching a message's media: through the outbound guard, bounded in size and time whatever the server does,
redirects re-checked and re-requested cleanly, and fetched once even when the fetch outlasts a job's lease."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import nullcontext

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import fresh_database, make_server
from tests.support import clients
from tests.support import receiver as receivers
from tests.support.hostile import Hostile, serving
from tests.support.receiver import Answer, Receiver
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MB = 1024 * 1024
FETCH_SECONDS = 4


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def loft(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoftServer]:
    """A server that denies 127.0.0.2 (besides the default networks), gives up a media fetch after 4 s, and
    leases jobs for 1 s: shorter than the slow fetches below."""
    postgres = request.param == "postgres"
    with fresh_database(request.getfixturevalue("postgres_url")) if postgres else nullcontext() as url:
        server = make_server(tmp_path_factory.mktemp(f"media-{request.param}"), url)
        server.extra_env = {"LOFT_OUTBOUND_DENY": "link-local,metadata,127.0.0.2/32",
                            "LOFT_MEDIA_FETCH_SECONDS": str(FETCH_SECONDS), "LOFT_JOB_LEASE_SECONDS": "1"}
        with server.running():
            yield server


@pytest.fixture
def denied() -> Iterator[Receiver]:
    started = receivers.start("127.0.0.2")
    try:
        yield started
    finally:
        started.close()


def send_mms(client: Client, sender: str, to: str, *urls: str) -> str:
    return str(client.messages.create(to=to, from_=sender, body="media", media_url=list(urls)).sid)


def failed_with(client: Client, sid: str, timeout: float = 15.0) -> int:
    eventually(lambda: status_of(client, sid) in ("failed", "delivered"), timeout=timeout)
    message = client.messages(sid).fetch()
    assert message.status == "failed", message.status
    return int(message.error_code)


def test_a_media_url_on_a_denied_address_fails_11200_unrequested(client: Client, sender: str, sim: Sim,
                                                                  denied: Receiver) -> None:
    sid = send_mms(client, sender, "+15558673001", denied.url("/secret.png"))
    assert failed_with(client, sid) == 11200
    assert denied.requests == [] and sim.inbox("+15558673001") == []


def test_cloud_metadata_is_denied_by_default(client: Client, account: tuple[str, str], sender: str, sim: Sim) -> None:
    message = client.messages.create(to="+15558673002", from_=sender, body="hi",
                                     status_callback="http://169.254.169.254/latest/meta-data/iam")
    attempts = eventually(lambda: sim.webhooks(account[0], message.sid))
    assert all(a["error_code"] == 11200 and "LOFT_OUTBOUND_DENY" in a["error_message"] for a in attempts)
    sid = send_mms(client, sender, "+15558673002", "http://169.254.169.254/latest/meta-data/iam")
    assert failed_with(client, sid) == 11200


def test_a_redirect_to_a_denied_address_is_not_followed(client: Client, account: tuple[str, str], sender: str,
                                                        receiver: Receiver, denied: Receiver) -> None:
    denied.answer("/internal.png", Answer(raw=PNG, content_type="image/png"))
    receiver.answer("/public.png", Answer(status=302, headers={"Location": denied.url("/internal.png")}))
    sid = send_mms(client, sender, "+15558673003", receiver.url("/public.png"))
    assert failed_with(client, sid) == 11200
    assert [r.path for r in receiver.requests] == ["/public.png"] and denied.requests == []
    [media] = client.messages(sid).media.list()
    content = httpx.get(f"{client.api.base_url}/2010-04-01/Accounts/{account[0]}/Messages/{sid}/Media/{media.sid}",
                        auth=account)
    assert content.status_code == 404  # nothing was stored for it


def test_each_redirect_is_a_fresh_get_without_a_body(client: Client, account: tuple[str, str], sender: str,
                                                     sim: Sim, receiver: Receiver) -> None:
    receiver.answer("/moved", Answer(status=301, headers={"Location": "/hop"}))
    receiver.answer("/hop", Answer(status=307, headers={"Location": receiver.url("/cat.png")}))
    receiver.answer("/cat.png", Answer(raw=PNG, content_type="image/png"))
    sid = send_mms(client, sender, "+15558673004", receiver.url("/moved"))
    eventually(lambda: status_of(client, sid) == "delivered")
    assert [(r.method, r.path) for r in receiver.requests] == [("GET", "/moved"), ("GET", "/hop"), ("GET", "/cat.png")]
    for request in receiver.requests:
        assert request.body == b""
        assert not {"content-type", "transfer-encoding", "content-length"} & set(request.headers)
    [received] = sim.inbox("+15558673004")
    assert httpx.get(received["media_urls"][0], auth=account).content == PNG


def test_more_than_five_redirects_fail_11200(client: Client, sender: str, receiver: Receiver) -> None:
    for hop in range(7):
        receiver.answer(f"/r{hop}", Answer(status=302, headers={"Location": f"/r{hop + 1}"}))
    sid = send_mms(client, sender, "+15558673005", receiver.url("/r0"))
    assert failed_with(client, sid) == 11200
    assert [r.path for r in receiver.requests] == [f"/r{hop}" for hop in range(6)]


def test_a_declared_length_over_the_limit_is_refused_before_reading(client: Client, sender: str) -> None:
    hostile = Hostile(head=f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {100 * MB}",
                      size=100 * MB, pause=0.05)
    with serving(hostile):
        sid = send_mms(client, sender, "+15558673006", hostile.url + "/huge.png")
        assert failed_with(client, sid) == 11751
        assert hostile.sent < 20 * MB


def test_a_chunked_body_is_cut_at_the_limit(client: Client, sender: str) -> None:
    hostile = Hostile(head="HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nTransfer-Encoding: chunked",
                      size=100 * MB, chunked=True)
    with serving(hostile):
        sid = send_mms(client, sender, "+15558673007", hostile.url + "/huge.pdf")
        assert failed_with(client, sid) == 11751
        eventually(hostile.closed_early.is_set)
        assert hostile.sent < 20 * MB  # 500 KB was enough to refuse it; the socket buffers hold the rest


def test_the_media_of_one_message_are_limited_together(client: Client, sender: str, sim: Sim,
                                                       receiver: Receiver) -> None:
    picture = b"\xff\xd8\xff" + b"\0" * (3 * MB)
    receiver.answer("/one.jpg", Answer(raw=picture, content_type="image/jpeg"))
    receiver.answer("/two.jpg", Answer(raw=picture, content_type="image/jpeg"))
    sid = send_mms(client, sender, "+15558673008", receiver.url("/one.jpg"), receiver.url("/two.jpg"))
    assert failed_with(client, sid) == 11751  # each is under 5 MB, both are not
    assert sim.inbox("+15558673008") == []


def test_a_server_dripping_bytes_is_given_up_after_the_total_deadline(client: Client, sender: str) -> None:
    hostile = Hostile(head="HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000", size=1000,
                      chunk=1, pause=0.5)
    with serving(hostile):
        began = time.monotonic()
        sid = send_mms(client, sender, "+15558673009", hostile.url + "/slow.png")
        assert failed_with(client, sid, timeout=FETCH_SECONDS + 10) == 11200
        assert time.monotonic() - began < FETCH_SECONDS + 5  # not 1000 bytes × 0.5 s
        assert hostile.requests == 1


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        pytest.param(Answer(raw=PNG, content_type="image/png", delay=2.5), ("delivered", None), id="delivered"),
        pytest.param(Answer(status=404, body="gone", delay=2.5), ("failed", 11200), id="failed"),
    ],
)
def test_a_fetch_longer_than_the_lease_runs_once_and_is_announced_once(
    client: Client, sender: str, receiver: Receiver, answer: Answer, outcome: tuple[str, int | None]
) -> None:
    """The lease is 1 s and the media take 2.5 s: the worker keeps its claim while it fetches, so no worker
    takes the send over and fetches again, and each status is announced once, with one idempotency token."""
    receiver.answer("/slow", answer)
    message = client.messages.create(to="+15558673010", from_=sender, media_url=[receiver.url("/slow")],
                                     status_callback=receiver.url("/status"))
    final = outcome[0]
    receiver.wait_for(lambda rs: any(r.path == "/status" and r.param("MessageStatus") == final for r in rs))
    time.sleep(2)  # a second fetch or a late duplicate callback would arrive in this time
    assert len(receiver.to("/slow")) == 1
    callbacks = [(str(r.param("MessageStatus")), r.headers["i-twilio-idempotency-token"])
                 for r in receiver.to("/status")]
    assert sorted(status for status, _ in callbacks) == sorted({status for status, _ in callbacks})
    assert len({token for _, token in callbacks}) == len(callbacks)
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == outcome


def test_the_guard_applies_to_webhooks_too(loft: LoftServer, client: Client, account: tuple[str, str], sender: str,
                                           sim: Sim, denied: Receiver) -> None:
    message = client.messages.create(to="+15558673011", from_=sender, body="hi",
                                     status_callback=denied.url("/status"))
    attempts = eventually(lambda: sim.webhooks(account[0], message.sid))
    assert {(a["error_code"], a["status_code"], a["response_excerpt"]) for a in attempts} == {(11200, None, "")}
    assert "LOFT_OUTBOUND_DENY" in attempts[0]["error_message"]
    assert denied.requests == []
    assert clients.sdk(loft.base_url, *account).messages(message.sid).fetch().status == "delivered"
