"""What the SMPP carrier puts into PDUs and reads out of them, kept apart from the connection (pure functions).

- **Outbound text.** :func:`split` encodes a body as :mod:`loft.kit.segments` decided (GSM-7: ``data_coding`` 0,
  unpacked septets; UCS-2: ``data_coding`` 8, UTF-16-BE) and cuts it where Twilio's segment counter cuts it, so
  a message's ``NumSegments`` is the number of ``submit_sm`` sent: 160 septets / 70 units in one, else 153 / 67 a
  part, never inside an escape or a surrogate pair. :func:`submits` joins the parts by a UDH (``05 00 03 ref
  total seq``, esm_class 0x40), by SAR TLVs, or sends the whole body in one ``message_payload`` TLV.
- **Addresses.** :func:`address_out` and :func:`address_in`: E.164 in Loft, digits with TON/NPI on the wire.
- **Answers.** :func:`answer_of` sorts a ``submit_sm_resp``'s command_status: taken, later (throttled, queue
  full, the SMSC's own trouble) or refused with a Twilio error code.
- **Receipts.** :func:`receipt_of` reads a delivery receipt's message id (the ``receipted_message_id`` TLV, else
  ``id:`` in its text), ``stat:``/``err:`` and ``message_state``; :func:`report_of` maps them to a Twilio outcome.

Mobile-originated parts and their reassembly are in :mod:`loft.delivery.carriers.smpp_mo`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from loft.delivery.carriers.base import Outcome, Report
from loft.kit import gsm, segments

# SMPP 3.4 optional parameter tags (§5.3.2): smpp34 defines them at run time only, where mypy cannot see them.
TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F
TLV_NETWORK_ERROR_CODE: Final = 0x0423
TLV_MESSAGE_PAYLOAD: Final = 0x0424
TLV_MESSAGE_STATE: Final = 0x0427

#: esm_class: a User Data Header leads short_message (§5.2.12).
UDHI: Final = 0x40
#: esm_class message types (bits 2-5) of deliver_sm: a delivery receipt, an intermediate notification.
RECEIPT_TYPES: Final = frozenset({0x04, 0x20})
MESSAGE_TYPE: Final = 0x3C

GSM: Final = 0
UCS2: Final = 8
#: The most octets short_message holds (§5.2.21); smpp34 panics beyond it.
SHORT_MESSAGE_MAX: Final = 254

Concatenation = Literal["udh", "sar", "payload"]

# -- command_status (§5.1.3) ---------------------------------------------------------------------------------------

STATUS_NAMES: Final = {
    0x00: "ESME_ROK", 0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS", 0x05: "ESME_RALYBND", 0x06: "ESME_RINVPRTFLG", 0x07: "ESME_RINVREGDLVFLG",
    0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR", 0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID", 0x14: "ESME_RMSGQFUL",
    0x15: "ESME_RINVSERTYP", 0x33: "ESME_RINVNUMDESTS", 0x43: "ESME_RINVESMCLASS", 0x45: "ESME_RSUBMITFAIL",
    0x48: "ESME_RINVSRCTON", 0x49: "ESME_RINVSRCNPI", 0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI",
    0x53: "ESME_RINVSYSTYP", 0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
    0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN", 0x66: "ESME_RX_R_APPN", 0xC0: "ESME_RINVOPTPARSTREAM",
    0xC1: "ESME_ROPTPARNOTALLWD", 0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM",
    0xC4: "ESME_RINVOPTPARAMVAL", 0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}
ESME_ROK: Final = 0x00
ESME_RINVBNDSTS: Final = 0x04
ESME_RSYSERR: Final = 0x08
ESME_RMSGQFUL: Final = 0x14
ESME_RTHROTTLED: Final = 0x58
ESME_RX_T_APPN: Final = 0x64
#: Answers that mean "not now": the message is handed over again later, its retries untouched.
LATER: Final = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RX_T_APPN, ESME_RINVBNDSTS})
#: Answers that refuse a message for good, with the Twilio code it fails with (any other: 30008).
REFUSALS: Final = {
    0x0B: 21211, 0x50: 21211, 0x51: 21211,  # the destination address, its TON or NPI: Invalid 'To' Phone Number
    0x0A: 21212, 0x48: 21212, 0x49: 21212,  # the source address, its TON or NPI: Invalid 'From' Phone Number
    0x66: 30007,                            # ESME_RX_R_APPN, "reject message": filtered
}
UNKNOWN_ERROR: Final = 30008


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


@dataclass(frozen=True, slots=True)
class Answer:
    """What a submit_sm_resp's command_status means for the message: ``taken``, ``later``, or ``refused`` with
    ``error_code``."""

    verdict: Literal["taken", "later", "refused"]
    status: int
    error_code: int | None = None

    @property
    def name(self) -> str:
        return status_name(self.status)


def answer_of(status: int) -> Answer:
    if status == ESME_ROK:
        return Answer("taken", status)
    if status in LATER:
        return Answer("later", status)
    return Answer("refused", status, REFUSALS.get(status, UNKNOWN_ERROR))


# -- outbound text ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """A body encoded for SMPP, in the parts its segments are."""

    data_coding: int
    parts: tuple[bytes, ...]

    @property
    def whole(self) -> bytes:
        return b"".join(self.parts)


def _cut(data: bytes, single: int, size: int, step: int, pair_at: Callable[[bytes, int], bool]
         ) -> tuple[bytes, ...]:
    """``data`` in one piece of ``single`` octets at most, else in pieces of ``size``; a piece whose last unit
    (``step`` octets, at offset ``at``) starts a pair (``pair_at(data, at)``) leaves that unit to the next piece."""
    if len(data) <= single:
        return (data,)
    pieces = []
    start = 0
    while len(data) - start > size:
        end = start + size
        if pair_at(data, end - step):
            end -= step
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return tuple(pieces)


def _escape_at(data: bytes, at: int) -> bool:
    return data[at] == gsm.ESCAPE


def _surrogate_pair_at(data: bytes, at: int) -> bool:
    return data[at] & 0xFC == 0xD8 and data[at + 2] & 0xFC == 0xDC


def split(body: str) -> Split:
    """``body`` encoded as its segments say, in as many parts as :func:`loft.kit.segments.count` gives."""
    if segments.is_gsm7(body):
        return Split(GSM, _cut(gsm.encode(body), segments.GSM7_SINGLE, segments.GSM7_MULTI, 1, _escape_at))
    units = body.encode("utf-16-be", "surrogatepass")
    return Split(UCS2, _cut(units, 2 * segments.UCS2_SINGLE, 2 * segments.UCS2_MULTI, 2, _surrogate_pair_at))


@dataclass(frozen=True, slots=True)
class Part:
    """The content of one submit_sm: short_message, esm_class, data_coding and optional parameters."""

    short_message: bytes
    data_coding: int
    esm_class: int = 0
    tlvs: tuple[tuple[int, bytes], ...] = ()
    #: Where it stands in its message: (sequence, total).
    seq: tuple[int, int] = field(default=(1, 1))


def submits(body: str, concatenation: Concatenation, ref: int) -> list[Part]:
    """The submit_sm that carry ``body``: one part, or its segments joined as ``concatenation`` says (``ref``: the
    message's reference, of which a UDH keeps the low 8 bits and SAR 16)."""
    encoded = split(body)
    total = len(encoded.parts)
    if total == 1:
        return [Part(encoded.parts[0], encoded.data_coding)]
    if concatenation == "payload":
        return [Part(b"", encoded.data_coding, tlvs=((TLV_MESSAGE_PAYLOAD, encoded.whole),))]
    if total > 255:
        raise ValueError(f"{total} parts: a concatenated message has 255 at most")
    parts = []
    for seq, chunk in enumerate(encoded.parts, start=1):
        if concatenation == "udh":
            header = bytes([0x05, 0x00, 0x03, ref & 0xFF, total, seq])
            parts.append(Part(header + chunk, encoded.data_coding, UDHI, seq=(seq, total)))
        else:
            parts.append(Part(chunk, encoded.data_coding, seq=(seq, total), tlvs=(
                (TLV_SAR_MSG_REF_NUM, (ref & 0xFFFF).to_bytes(2, "big")), (TLV_SAR_TOTAL_SEGMENTS, bytes([total])),
                (TLV_SAR_SEGMENT_SEQNUM, bytes([seq])))))
    return parts


# -- addresses ----------------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"^[0-9]+$")
_ALPHANUMERIC = re.compile(r"[A-Za-z]")
TON_INTERNATIONAL: Final = 1
TON_NETWORK: Final = 3
TON_ALPHANUMERIC: Final = 5


def address_out(number: str, ton: int, npi: int) -> tuple[str, int, int]:
    """(address, TON, NPI) for ``number``: an E.164 number as digits with the ``ton``/``npi`` the carrier was
    given, an alphanumeric sender with TON 5 (alphanumeric) and NPI 0, a short code with TON 3 (network specific)
    and NPI 0."""
    if number.startswith("+"):
        return number[1:], ton, npi
    if _ALPHANUMERIC.search(number):
        return number, TON_ALPHANUMERIC, 0
    return number, TON_NETWORK, 0


def address_in(address: str, ton: int, npi: int) -> str:
    """An address from the SMSC as Loft writes numbers: international (TON 1, or TON 0 with NPI 1 and eight digits
    or more) gets its ``+``; anything else (a short code, an alphanumeric sender, a national number) stays as sent."""
    if _DIGITS.match(address) and (ton == TON_INTERNATIONAL or (ton == 0 and npi == 1 and len(address) >= 8)):
        return "+" + address
    return address


# -- text of deliver_sm -------------------------------------------------------------------------------------------

_CODECS: Final = {1: "ascii", 2: "latin-1", 3: "latin-1", 4: "latin-1", 6: "iso8859_5", 7: "iso8859_8",
                  8: "utf-16-be"}


def decode(data: bytes, data_coding: int) -> str:
    """Text of a deliver_sm by its data_coding: 0 GSM 03.38, 1 IA5 (ASCII), 3 Latin-1, 8 UCS-2 (UTF-16-BE), the
    message-class codings 0xF0-0xFF as their alphabet bit says; what is not text (8-bit data) as Latin-1."""
    if data_coding == GSM or (data_coding & 0xF0 == 0xF0 and not data_coding & 0x04):
        return gsm.decode(data)
    return data.decode(_CODECS.get(data_coding, "latin-1"), "replace")


# -- delivery receipts (SMPP 3.4 Appendix B) ------------------------------------------------------------------------

_FIELD = re.compile(rb"(?i)(id|stat|err|done date):\s*(\S+)")
#: message_state TLV values (§5.3.2.35) as the stat words of a receipt's text.
MESSAGE_STATES: Final = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD",
                         7: "UNKNOWN", 8: "REJECTD"}
_SPELLINGS: Final = {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "REJECTED": "REJECTD",
                     "ACCEPTED": "ACCEPTD"}
#: A receipt's stat → the message's outcome and Twilio error code (docs/carriers.md has the table).
STATS: Final[dict[str, tuple[Outcome, int | None]]] = {
    "DELIVRD": ("delivered", None),
    "ENROUTE": ("sent", None),
    "ACCEPTD": ("sent", None),
    "UNDELIV": ("undelivered", 30003),
    "EXPIRED": ("undelivered", 30003),
    "REJECTD": ("undelivered", 30007),
    "DELETED": ("undelivered", 30008),
    "UNKNOWN": ("undelivered", 30008),
}


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt's content: the message id it is about, and what it says (None: it does not say)."""

    message_id: str
    stat: str | None = None
    err: str | None = None
    message_state: int | None = None
    done_date: str | None = None


def receipt_of(text: bytes, data_coding: int, tlvs: Mapping[int, bytes]) -> Receipt | None:
    """The receipt a deliver_sm (esm_class receipt) carries; None when it names no message id."""
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(decode(text, data_coding).encode("utf-8", "replace")):
        fields.setdefault(name.decode().lower(), value.decode("utf-8", "replace"))
    message_id = tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"").split(b"\0", 1)[0].decode("latin-1").strip()
    message_id = message_id or fields.get("id", "")
    if not message_id:
        return None
    state = tlvs.get(TLV_MESSAGE_STATE)
    return Receipt(message_id=message_id, stat=fields.get("stat"), err=fields.get("err"),
                   message_state=state[0] if state else None, done_date=fields.get("done date"))


def _same_err(err: str, key: str) -> bool:
    if err.isdigit() and key.isdigit():
        return int(err) == int(key)
    return err.lower() == key.lower()


def report_of(carrier: str, receipt: Receipt, errors: Mapping[str, int] | None = None) -> Report:
    """The delivery report a receipt makes: its stat (else its message_state) mapped by :data:`STATS`, an
    unknown one undelivered with 30008; ``errors`` (the carrier's ``receipt_errors``) maps an ``err`` to the code
    of a message not delivered. The raw stat, err and message_state are kept in the report's detail."""
    word = (receipt.stat or "").upper()
    word = _SPELLINGS.get(word, word)
    if word not in STATS and receipt.message_state in MESSAGE_STATES:
        word = MESSAGE_STATES[receipt.message_state]
    outcome, code = STATS.get(word, ("undelivered", UNKNOWN_ERROR))
    if outcome in ("undelivered", "failed") and receipt.err is not None:
        for key, mapped in (errors or {}).items():
            if _same_err(receipt.err, key):
                code = mapped
                break
    detail = {name: value for name, value in (("stat", receipt.stat), ("err", receipt.err),
                                              ("message_state", receipt.message_state),
                                              ("done_date", receipt.done_date)) if value is not None}
    return Report(carrier=carrier, reference=receipt.message_id, outcome=outcome, error_code=code, detail=detail)
