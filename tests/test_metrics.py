"""``GET /metrics``: Prometheus' text format from a real server after real traffic, parsed with prometheus-client's
own parser; the figures added up over ``--processes`` and ``--worker-processes``; access by ``LOFT_METRICS``."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from loft.app import CREATE as CREATE_ROUTE
from loft.app import create_app
from loft.config import Settings
from loft.metrics.requests import UNMATCHED, templates
from tests.conftest import make_server, server_of_its_own
from tests.support import children
from tests.support import receiver as receivers
from tests.support.server import LoftServer
from tests.support.waiting import eventually

CREATE = "/2010-04-01/Accounts/{account_sid}/Messages"
FETCH = "/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
TOKEN = "s3cret-metrics-token-0123456789"


def scrape(server: LoftServer, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``, by name and labels (sorted), parsed by prometheus-client."""
    response = httpx.get(f"{server.base_url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def own_server(tmp: Path, **env: str) -> LoftServer:
    """A server of the test's own on SQLite, with ``env`` added to its environment."""
    server = make_server(tmp)
    server.extra_env = dict(env)
    return server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoftServer]:
    server = server_of_its_own(request, tmp_path)
    with server.running():
        yield server


def test_metrics_count_requests_messages_and_webhooks_after_real_traffic(served: LoftServer) -> None:
    receiver = receivers.start()
    auth = (served.account_sid, served.auth_token)
    base = f"/2010-04-01/Accounts/{served.account_sid}"
    http = httpx.Client(base_url=served.base_url, auth=auth, timeout=30)
    try:
        number = http.post(f"{base}/IncomingPhoneNumbers.json", data={
            "AreaCode": "415", "SmsUrl": receiver.url("/inbound")}).json()
        sender = number["phone_number"]
        assert http.post("/sim/v1/Handsets/+15558670002", data={"Behavior": "unreachable"}).status_code == 200
        sends = [("+15558670001", receiver.url("/status")), ("+15558670001", receiver.url("/status")),
                 ("+15558670002", receiver.url("/status")),
                 ("+15558670003", f"http://127.0.0.1:{closed_port()}/status#rc=0")]
        sids = []
        for to, callback in sends:
            created = http.post(f"{base}/Messages.json", data={"To": to, "From": sender, "Body": "hi",
                                                               "StatusCallback": callback})
            assert created.status_code == 201, created.text
            sids.append(created.json()["sid"])
        refused = http.post(f"{base}/Messages.json", data={"To": "not a number", "From": sender, "Body": "hi"})
        assert refused.status_code == 400
        inbound = http.post("/sim/v1/Handsets/+15558670009/Messages", data={"To": sender, "Body": "hello"})
        assert inbound.status_code == 201
        sids.append(inbound.json()["sid"])
        assert http.get("/no/such/route").status_code == 404

        def settled() -> list[dict[str, object]] | None:
            messages = [http.get(f"{base}/Messages/{sid}.json").json() for sid in sids]
            done = all(m["status"] in ("delivered", "undelivered", "received") for m in messages)
            logs = [http.get(f"/loft/v1/Accounts/{served.account_sid}/Messages/{sid}/Webhooks").json()["webhooks"]
                    for sid in sids]
            # every status callback (2 per outbound message: sent, then its outcome) and the inbound webhook logged
            return logs if done and sum(len(log) for log in logs) >= 2 * (len(sids) - 1) + 1 else None

        logs = eventually(settled, timeout=30)
    finally:
        receiver.close()
        http.close()

    samples = scrape(served)
    # Requests, by route template and status class (the hot path's own recording included).
    assert value(samples, "loft_http_requests_total", route=CREATE, method="POST", status="2xx") == 4
    assert value(samples, "loft_http_requests_total", route=CREATE, method="POST", status="4xx") == 1
    assert value(samples, "loft_http_requests_total", route=UNMATCHED, method="GET", status="4xx") == 1
    assert value(samples, "loft_http_requests_total", route=FETCH, method="GET", status="2xx") >= len(sids)
    assert value(samples, "loft_http_requests_total", route="/sim/v1/Handsets/{phone_number}/Messages",
                 method="POST", status="2xx") == 1
    assert not [key for key in samples if "SM" in str(key[1]) or "AC" in str(key[1])]  # no SID is ever a label
    # Latency: one observation per create, cumulative buckets ending in +Inf.
    assert value(samples, "loft_http_request_duration_seconds_count", route=CREATE, method="POST") == 5
    assert value(samples, "loft_http_request_duration_seconds_sum", route=CREATE, method="POST") > 0
    assert value(samples, "loft_http_request_duration_seconds_bucket", route=CREATE, method="POST", le="+Inf") == 5
    # Messages by status: created queued (outbound) or received (inbound), then their outcomes.
    assert value(samples, "loft_messages_total", status="queued") == 4
    assert value(samples, "loft_messages_total", status="delivered") == 3
    assert value(samples, "loft_messages_total", status="undelivered") == 1
    assert value(samples, "loft_messages_total", status="received") == 1
    # Webhooks: exactly what the attempt log holds, by kind and error code.
    attempts = Counter(entry["kind"] for log in logs for entry in log)
    failures = Counter((entry["kind"], str(entry["error_code"])) for log in logs for entry in log
                       if entry["error_code"] is not None)
    assert failures[("status_callback", "11205")] >= 1
    for kind, count in attempts.items():
        assert value(samples, "loft_webhook_attempts_total", kind=kind) == count
    for (kind, code), count in failures.items():
        assert value(samples, "loft_webhook_failures_total", kind=kind, error_code=code) == count
    # Shared state and health.
    assert value(samples, "loft_database_up") == 1
    assert value(samples, "loft_database_outages_total") == 0
    assert value(samples, "loft_carrier_up", carrier="sim") == 1
    assert value(samples, "loft_outbox_jobs") == 0
    assert value(samples, "loft_outbox_oldest_due_seconds") == 0


def test_the_outbox_depth_and_the_age_of_its_oldest_due_job(tmp_path: Path) -> None:
    """With nobody delivering, every send waits in the outbox, and the oldest has been due since its create."""
    server = own_server(tmp_path, LOFT_WORKERS="false")
    with server.running():
        auth = (server.account_sid, server.auth_token)
        base = f"/2010-04-01/Accounts/{server.account_sid}"
        with httpx.Client(base_url=server.base_url, auth=auth, timeout=30) as http:
            sender = http.post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}).json()["phone_number"]
            for i in range(3):
                assert http.post(f"{base}/Messages.json", data={
                    "To": f"+1555867000{i}", "From": sender, "Body": "waiting"}).status_code == 201
        time.sleep(1.1)
        samples = scrape(server)
    assert value(samples, "loft_outbox_jobs") == 3
    assert value(samples, "loft_outbox_jobs_due") == 3
    assert 1.0 <= value(samples, "loft_outbox_oldest_due_seconds") < 60


def test_the_figures_add_up_over_every_process_of_the_server(tmp_path: Path) -> None:
    """Two API processes and a worker process: any of them answers a scrape with the sums of all three."""
    server = own_server(tmp_path, LOFT_PROCESSES="2", LOFT_WORKER_PROCESSES="1")
    with server.running():
        shared = _environment(children.only(server, "worker"))["PROMETHEUS_MULTIPROC_DIR"]  # as its children see
        auth = (server.account_sid, server.auth_token)
        base = f"/2010-04-01/Accounts/{server.account_sid}"
        clients = [httpx.Client(base_url=server.base_url, auth=auth, timeout=30) for _ in range(8)]
        try:
            sender = clients[0].post(f"{base}/IncomingPhoneNumbers.json", data={"AreaCode": "415"}
                                     ).json()["phone_number"]
            for i in range(40):  # over 8 connections, which the kernel spreads over both API processes
                assert clients[i % 8].post(f"{base}/Messages.json", data={
                    "To": f"+155586710{i:02d}", "From": sender, "Body": "spread"}).status_code == 201
            eventually(lambda: value(scrape(server), "loft_messages_total", status="delivered") == 40, timeout=60)
        finally:
            for http in clients:
                http.close()
        for _ in range(6):  # on fresh connections: whichever process answers, the same sums
            samples = scrape(server)
            assert value(samples, "loft_http_requests_total", route=CREATE, method="POST", status="2xx") == 40
            assert value(samples, "loft_messages_total", status="queued") == 40
            assert value(samples, "loft_messages_total", status="delivered") == 40  # counted by the worker
        assert Path(shared).is_dir()
    assert not Path(shared).exists()  # the server removed it when it stopped


def test_a_metrics_token_is_asked_for_and_compared(tmp_path: Path) -> None:
    server = own_server(tmp_path, LOFT_METRICS=TOKEN)
    with server.running():
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}):
            refused = httpx.get(f"{server.base_url}/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["code"] == 20003
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in refused.text
        samples = scrape(server, Authorization=f"Bearer {TOKEN}")
        assert value(samples, "loft_http_requests_total", route="/metrics", method="GET", status="4xx") == 3
    assert TOKEN not in server.log()


def test_metrics_off_removes_the_route(tmp_path: Path) -> None:
    server = own_server(tmp_path, LOFT_METRICS="off")
    with server.running():
        missing = httpx.get(f"{server.base_url}/metrics")
        assert missing.status_code == 404
        assert missing.json()["code"] == 20404


@pytest.mark.parametrize("given", ["", "opne", "short-token", "a token with spaces in it"])
def test_a_metrics_setting_that_is_neither_a_mode_nor_a_long_token_is_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="LOFT_METRICS must be 'open', 'off' or a bearer token"):
        Settings(metrics=given)  # type: ignore[arg-type]


def test_every_route_is_counted_under_its_own_template(tmp_path: Path) -> None:
    """Each route's endpoint (what the router leaves in the scope) maps back to that route's template alone."""
    app = create_app(Settings(data_dir=tmp_path))
    while not hasattr(app, "routes"):
        app = app.app  # type: ignore[attr-defined]
    routes = app.routes
    labels = templates(routes)
    assert len(labels) == len(routes)  # no endpoint serves two routes
    assert sorted(set(labels.values())) == sorted({getattr(route, "path") + ("/{path}" if not hasattr(
        route, "endpoint") else "") for route in routes})
    assert "/metrics" in labels.values()
    assert CREATE_ROUTE.path in labels.values()  # the hot path's label is the list route's template


def _environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)


def test_a_database_that_does_not_answer_is_down_and_its_outage_counted(tmp_path: Path) -> None:
    """Another program holds the SQLite write lock: the scrape still answers, says the database is down (and leaves
    out the figures it would read there), and counts the outage; once the lock is gone it is up again."""
    server = own_server(tmp_path)
    with server.running():
        assert value(scrape(server), "loft_database_up") == 1
        other = sqlite3.connect(tmp_path / "loft.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            down = scrape(server)
            other.execute("ROLLBACK")
        finally:
            other.close()
        up = eventually(lambda: (samples := scrape(server)) and value(samples, "loft_database_up") == 1 and samples,
                        timeout=15)
    assert value(down, "loft_database_up") == 0
    assert ("loft_outbox_jobs", ()) not in down
    assert value(down, "loft_database_outages_total") == 1
    assert value(up, "loft_database_outages_total") == 1
    assert ("loft_outbox_jobs", ()) in up


def test_one_process_tallies_answer_exactly_what_prometheus_clients_instruments_would() -> None:
    """In one process, requests are tallied in plain lists (:class:`loft.metrics.requests.Tallies`): a scrape of
    them is the text prometheus-client's counter and histogram make of the same requests, in multiprocess mode's
    instruments (:class:`loft.metrics.requests.Instruments`) — the same families, help, labels, buckets (a
    latency on a bound counts in that bound's bucket), counts and sums; unusual methods are ``other``."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client import Counter as PromCounter
    from prometheus_client import Histogram as PromHistogram

    from loft.metrics.requests import _LATENCY, _REQUESTS, LATENCY_BUCKETS, Instruments, Tallies

    requests = [(CREATE, "POST", 201, 0.0012), (CREATE, "POST", 201, 0.001), (CREATE, "POST", 400, 0.0004),
                (FETCH, "GET", 200, 0.02), (FETCH, "GET", 404, 40.0), (UNMATCHED, "PROPFIND", 404, 0.0005),
                (UNMATCHED, "GET", 404, 0.0), (CREATE, "POST", 503, 2.5)]
    tallies = Tallies()
    reference = CollectorRegistry()
    instruments = Instruments(
        PromCounter(*_REQUESTS, ["route", "method", "status"], registry=reference),
        PromHistogram(*_LATENCY, ["route", "method"], buckets=LATENCY_BUCKETS, registry=reference))
    for route, method, status, seconds in requests:
        tallies.record(route, method, status, seconds)
        instruments.record(route, method, status, seconds)
    registry = CollectorRegistry()
    registry.register(tallies)

    def lines(text: bytes) -> list[str]:
        return sorted(text.decode().splitlines())

    made = lines(generate_latest(registry))
    assert made == lines(generate_latest(reference))
    assert 'loft_http_requests_total{method="other",route="unmatched",status="4xx"} 1.0' in made
    assert ('loft_http_request_duration_seconds_bucket{le="0.001",method="POST",'
            'route="/2010-04-01/Accounts/{account_sid}/Messages"} 2.0') in made  # 0.0004, and 0.001 on the bound
