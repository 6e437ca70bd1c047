"""A third-party SMSC for the SMPP carrier's tests: ``tests/support/smsc/smsc.js`` (node-smpp) in a subprocess.

It takes ESMEs' binds on one loopback port and the test's orders on another (a small HTTP JSON API, described at
the top of smsc.js). :class:`Smsc` installs its node dependencies when they are missing, starts it, reads what it
received (submits, binds, the deliver_sm it sent), steers it (receipt outcomes and delays, throttling, rejections,
mobile-originated messages), and can kill it and start it again on the same ports.

Addresses: the SMSC records ``destination`` and ``source`` as the ESME sent them; its own deliver_sm (receipts
and MO) carry international numbers without ``+`` and TON 1 / NPI 1, as carriers' SMSCs do.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.support.waiting import eventually

FOLDER = Path(__file__).with_name("smsc")
LOCKFILE = FOLDER / "package-lock.json"
#: The lockfile's SHA-256 when ``npm ci`` last installed node_modules (scripts/test writes the same stamp).
STAMP = FOLDER / "node_modules" / ".installed-from"

# SMPP 3.4 command_status values the tests name.
ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14
ESME_RINVBNDSTS = 0x04
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RSUBMITFAIL = 0x45
ESME_RTHROTTLED = 0x58


def install() -> None:
    """``npm ci`` in tests/support/smsc when node_modules is missing or the lockfile changed since it was installed
    (from npm's cache first: offline once the cache holds the three packages)."""
    with LOCKFILE.open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs installing at once would delete each other's node_modules
        wanted = hashlib.sha256(lock.read()).hexdigest()
        if STAMP.is_file() and STAMP.read_text().strip() == wanted:
            return
        done = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=FOLDER,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"npm ci in {FOLDER} failed:\n{done.stdout}{done.stderr}")
        STAMP.write_text(wanted + "\n")


@dataclass(frozen=True)
class Concat:
    """Where a part stands in a concatenated message (from its UDH or its SAR TLVs)."""

    ref: int
    total: int
    seq: int

    @classmethod
    def of(cls, found: dict[str, Any] | None) -> Concat | None:
        if not found or "ref" not in found:
            return None
        return cls(ref=found["ref"], total=found["total"], seq=found["seq"])


@dataclass(frozen=True)
class Submit:
    """One submit_sm the SMSC received, accepted (``status`` 0, with its ``message_id``) or not."""

    source: str
    destination: str
    esm_class: int
    data_coding: int
    registered_delivery: int
    #: The addresses' TON and NPI: (source TON, source NPI, destination TON, destination NPI).
    ton_npi: tuple[int, int, int, int]
    #: The message's text, decoded by data_coding (0 GSM 03.38 unpacked, 1 IA5, 3 Latin-1, 8 UCS-2), without the UDH.
    text: str | None
    #: The concatenation UDH's reference, total and sequence; ``udh_hex`` is the whole UDH (without its length octet).
    udh: Concat | None
    udh_hex: str | None
    sar: Concat | None
    short_message: bytes
    message_payload: bytes | None
    status: int
    message_id: str | None
    bind: int
    sequence_number: int
    #: When the SMSC read it (its clock, milliseconds).
    received_at: datetime

    @classmethod
    def of(cls, seen: dict[str, Any]) -> Submit:
        payload = seen["message_payload"]
        return cls(
            source=seen["source"], destination=seen["destination"], esm_class=seen["esm_class"],
            data_coding=seen["data_coding"], registered_delivery=seen["registered_delivery"],
            ton_npi=(seen["source_ton"], seen["source_npi"], seen["destination_ton"], seen["destination_npi"]),
            text=seen["text"], udh=Concat.of(seen["udh"]), udh_hex=seen["udh"]["hex"] if seen["udh"] else None,
            sar=Concat.of(seen["sar"]), short_message=bytes.fromhex(seen["short_message"]),
            message_payload=bytes.fromhex(payload) if payload is not None else None, status=seen["status"],
            message_id=seen["message_id"], bind=seen["bind"], sequence_number=seen["sequence_number"],
            received_at=datetime.fromisoformat(seen["received_at"].replace("Z", "+00:00")),
        )


@dataclass(frozen=True)
class Delivery:
    """One deliver_sm the SMSC sent: a ``receipt`` (for ``message_id``) or an ``mo`` part. ``status`` is the
    ESME's deliver_sm_resp command_status, None until it answers; ``attempts`` counts sends (a deliver_sm
    unanswered when its connection closed is sent again to the next receiver that binds)."""

    kind: str
    message_id: str | None
    source: str
    destination: str
    esm_class: int
    data_coding: int
    text: str | None
    short_message: bytes
    sar: Concat | None
    status: int | None
    attempts: int

    @classmethod
    def of(cls, sent: dict[str, Any]) -> Delivery:
        return cls(
            kind=sent["kind"], message_id=sent["message_id"], source=sent["source"], destination=sent["destination"],
            esm_class=sent["esm_class"], data_coding=sent["data_coding"], text=sent["text"],
            short_message=bytes.fromhex(sent["short_message"]), sar=Concat.of(sent["sar"]), status=sent["status"],
            attempts=sent["attempts"],
        )


@dataclass(frozen=True)
class Bind:
    """One bind attempt: ``status`` is the command_status answered, ``bound`` whether the session still is,
    ``unbound`` whether the ESME ended it with an unbind (not by closing the connection)."""

    id: int
    mode: str
    system_id: str
    status: int
    bound: bool
    enquire_links: int
    unbound: bool = False

    @classmethod
    def of(cls, seen: dict[str, Any]) -> Bind:
        return cls(id=seen["id"], mode=seen["mode"], system_id=seen["system_id"], status=seen["status"],
                   bound=seen["bound"], enquire_links=seen["enquire_links"], unbound=seen.get("unbound", False))


@dataclass(frozen=True)
class MoSent:
    parts: int
    ref: int | None
    data_coding: int


@dataclass
class Smsc:
    """The SMSC process: ``start()`` (free ports the first time, the same ones after), ``kill()``, ``restart()``."""

    log_dir: Path
    system_id: str = "loft"
    password: str = field(default_factory=lambda: secrets.token_hex(4))  # SMPP allows 8 characters
    host: str = "127.0.0.1"
    port: int = 0
    control_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    @property
    def log_path(self) -> Path:
        return self.log_dir / "smsc.log"

    def start(self) -> None:
        install()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["node", "smsc.js", "--port", str(self.port), "--control-port", str(self.control_port),
                 "--system-id", self.system_id, "--password", self.password],
                cwd=FOLDER, stdout=subprocess.PIPE, stderr=log,
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 15)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.kill()
            raise RuntimeError(f"the SMSC did not start within 15 s:\n{self.log()}")
        ports = json.loads(line)
        self.port, self.control_port = ports["smpp_port"], ports["control_port"]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipe()

    def kill(self) -> None:
        """SIGKILL: connections dropped without an unbind, everything it held forgotten, as when an SMSC crashes."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self._close_pipe()

    def restart(self, down_for: float = 0.0) -> None:
        """Killed, and started again on the same ports (after ``down_for`` seconds), with nothing remembered."""
        self.kill()
        time.sleep(down_for)
        self.start()

    @contextmanager
    def running(self) -> Iterator[Smsc]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
            self.http.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close_pipe(self) -> None:
        if self.process and self.process.stdout:
            self.process.stdout.close()

    # -- the control API --

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"http://{self.host}:{self.control_port}{path}", json=body)
        if response.status_code != 200:
            raise AssertionError(f"SMSC {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def submits(self) -> list[Submit]:
        return [Submit.of(seen) for seen in self._call("GET", "/submits")["submits"]]

    def accepted(self) -> list[Submit]:
        return [submit for submit in self.submits() if submit.status == ESME_ROK]

    def deliveries(self) -> list[Delivery]:
        return [Delivery.of(sent) for sent in self._call("GET", "/deliveries")["deliveries"]]

    def binds(self) -> list[Bind]:
        return [Bind.of(seen) for seen in self._call("GET", "/binds")["binds"]]

    def bound(self) -> list[Bind]:
        return [bind for bind in self.binds() if bind.bound]

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Settings as smsc.js names them: receipt, outcomes, receipt_delay_ms, response_delay_ms, throttle,
        reject_all, bare_bind_errors (a refused bind answered by a PDU header alone, as node-smpp answers)."""
        answer: dict[str, Any] = self._call("POST", "/config", settings)
        return answer

    def receipt(self, stat: str, err: str = "000") -> None:
        """The outcome of every destination without one of its own."""
        self.configure(receipt={"stat": stat, "err": err})

    def outcome(self, destination: str, stat: str = "DELIVRD", err: str = "000", delay_ms: int | None = None,
                status: str | int | None = None) -> None:
        """One destination's receipt (``stat``, ``err``, after ``delay_ms``), or its submit_sm refused with
        ``status``. ``destination`` as the ESME sends it (with or without ``+``)."""
        outcome: dict[str, Any] = {"stat": stat, "err": err}
        if delay_ms is not None:
            outcome["delay_ms"] = delay_ms
        if status is not None:
            outcome["status"] = status
        self.configure(outcomes={destination: outcome})

    def delay_receipts(self, milliseconds: int) -> None:
        """Receipts sent this long after their submit_sm_resp."""
        self.configure(receipt_delay_ms=milliseconds)

    def delay_responses(self, milliseconds: int) -> None:
        """Every submit_sm_resp held this long (an hour: a submit never answered while the test runs)."""
        self.configure(response_delay_ms=milliseconds)

    def throttle(self, count: int, status: str | int = "ESME_RTHROTTLED") -> None:
        """Answer the next ``count`` submit_sm with ``status`` (ESME_RTHROTTLED or ESME_RMSGQFUL)."""
        self.configure(throttle={"count": count, "status": status})

    def reject_all(self, status: str | int | None = "ESME_RSUBMITFAIL") -> None:
        """Answer every submit_sm with ``status`` from now on; None accepts again."""
        self.configure(reject_all=status)

    def mo(self, source: str, destination: str, text: str, *, encoding: str | None = None, concat: str = "udh",
           part_octets: int | None = None, reverse: bool = False) -> MoSent:
        """A mobile-originated message toward the bound receivers (kept until one binds). ``encoding`` gsm, ucs2
        or latin1 (default: gsm when the text fits GSM 03.38, else ucs2); too long for one deliver_sm (or split at
        ``part_octets``) it goes in parts joined by a UDH (``concat="udh"``) or SAR TLVs (``"sar"``), or whole in
        message_payload (``"payload"``); ``reverse`` sends the parts last first."""
        body: dict[str, Any] = {"source": source, "destination": destination, "text": text, "concat": concat,
                                "reverse": reverse}
        if encoding:
            body["encoding"] = encoding
        if part_octets:
            body["part_octets"] = part_octets
        sent = self._call("POST", "/mo", body)
        return MoSent(parts=sent["parts"], ref=sent["ref"], data_coding=sent["data_coding"])

    def disconnect(self, unbind: bool = False) -> int:
        """Drop every ESME connection (after an unbind when asked); the process keeps running."""
        dropped: int = self._call("POST", "/disconnect", {"unbind": unbind})["disconnected"]
        return dropped

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def wait_for_submits(self, count: int, timeout: float = 15.0) -> list[Submit]:
        """The submits, once there are at least ``count``."""

        def enough() -> list[Submit]:
            seen = self.submits()
            return seen if len(seen) >= count else []

        found: list[Submit] = eventually(enough, timeout=timeout)
        return found


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(key))} = {_toml(item)}" for key, item in value.items()) + "}"
    return json.dumps(str(value))


def carriers_file(path: Path, smsc: Smsc, carriers: dict[str, tuple[str, dict[str, object]]]) -> Path:
    """A carriers file (``LOFT_CARRIERS_FILE``) of SMPP carriers bound to ``smsc``: name → (the prefix routed to
    it, settings besides the SMSC's address and credentials, which may override them)."""
    lines = []
    for name, (prefix, settings) in carriers.items():
        every = {"type": "smpp", "host": smsc.host, "port": smsc.port, "system_id": smsc.system_id,
                 "password": smsc.password, **settings}
        lines += [f"[carriers.{name}]", *(f"{key} = {_toml(value)}" for key, value in every.items()), ""]
    for name, (prefix, _) in carriers.items():
        lines += ["[[routes]]", f"prefix = {_toml(prefix)}", f"carrier = {_toml(name)}", ""]
    path.write_text("\n".join(lines))
    return path
