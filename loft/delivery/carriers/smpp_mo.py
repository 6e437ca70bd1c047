"""Mobile-originated messages from an SMSC: each deliver_sm read (:func:`piece_of`), and the parts of a long one
joined again (:class:`Reassembly`).

A long message comes in parts that say where they stand by a UDH (information element 0x00, 8-bit reference, or
0x08, 16-bit) or by SAR TLVs, in any order and possibly interleaved with other messages'; or whole, in one
``message_payload`` TLV. Parts are kept by (source, destination, reference, total) and joined, in sequence order,
once all have come. Parts that never come do not hold a message back forever: ``wait`` seconds after its first
part, a message is delivered with the parts it has (the log says which are missing). The parts wait in memory:
smpp34 acknowledges each deliver_sm as it arrives, so a crash of Loft loses a long message still incomplete
(docs/carriers.md, "What a crash can lose").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from loft.delivery.carriers import smpp_codec as codec

#: Messages being reassembled at once, at most: past it the oldest is delivered as it is.
PENDING_MAX: Final = 10_000


@dataclass(frozen=True, slots=True)
class Concat:
    """Where a part stands in a concatenated message."""

    ref: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class Piece:
    """One MO deliver_sm: its addresses (as Loft writes numbers), its data_coding, the user data without any
    UDH, and where it stands if it is a part."""

    source: str
    destination: str
    data_coding: int
    data: bytes
    concat: Concat | None = None


def _udh(short_message: bytes) -> tuple[Concat | None, bytes]:
    """The concatenation a UDH names (if any), and the user data after the UDH."""
    if not short_message:
        return None, b""
    length = short_message[0]
    header, data = short_message[1:1 + length], short_message[1 + length:]
    at = 0
    while at + 1 < len(header):
        element, size = header[at], header[at + 1]
        value = header[at + 2:at + 2 + size]
        if element == 0x00 and size == 3 and len(value) == 3:
            return Concat(value[0], value[1], value[2]), data
        if element == 0x08 and size == 4 and len(value) == 4:
            return Concat(int.from_bytes(value[:2], "big"), value[2], value[3]), data
        at += 2 + size
    return None, data


def _sar(tlvs: Mapping[int, bytes]) -> Concat | None:
    ref, total, seq = (tlvs.get(tag) for tag in (codec.TLV_SAR_MSG_REF_NUM, codec.TLV_SAR_TOTAL_SEGMENTS,
                                                 codec.TLV_SAR_SEGMENT_SEQNUM))
    if not (ref and total and seq):
        return None
    return Concat(int.from_bytes(ref, "big"), int.from_bytes(total, "big"), int.from_bytes(seq, "big"))


def piece_of(*, source: str, source_ton: int, source_npi: int, destination: str, dest_ton: int, dest_npi: int,
             esm_class: int, data_coding: int, short_message: bytes, tlvs: Mapping[int, bytes]) -> Piece:
    """The MO part a deliver_sm carries (its text in message_payload when short_message is empty)."""
    data = tlvs.get(codec.TLV_MESSAGE_PAYLOAD) or short_message
    concat: Concat | None = None
    if esm_class & codec.UDHI:
        concat, data = _udh(data)
    else:
        concat = _sar(tlvs)
    if concat is not None and (concat.total < 2 or not 1 <= concat.seq <= concat.total):
        concat = None  # a "part" of one, or out of its own range: taken as a whole message
    return Piece(source=codec.address_in(source, source_ton, source_npi),
                 destination=codec.address_in(destination, dest_ton, dest_npi), data_coding=data_coding,
                 data=data, concat=concat)


@dataclass(frozen=True, slots=True)
class Assembled:
    """A whole MO message: its text, and how many of its parts were missing (0: none)."""

    source: str
    destination: str
    body: str
    parts: int
    missing: tuple[int, ...] = ()


@dataclass
class _Pending:
    first: Piece
    deadline: float
    parts: dict[int, bytes] = field(default_factory=dict)


class Reassembly:
    """Parts of long MO messages waiting for their siblings; time is the caller's (``now``: monotonic seconds)."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, piece: Piece, now: float) -> list[Assembled]:
        """Take ``piece``: the messages it completes (itself, if it is whole), and any pushed out by the limit."""
        concat = piece.concat
        if concat is None:
            return [Assembled(piece.source, piece.destination, codec.decode(piece.data, piece.data_coding), 1)]
        key = (piece.source, piece.destination, concat.ref, concat.total)
        pending = self._pending.get(key)
        done: list[Assembled] = []
        if pending is None:
            if len(self._pending) >= PENDING_MAX:
                oldest = min(self._pending, key=lambda each: self._pending[each].deadline)
                done.append(self._join(self._pending.pop(oldest)))
            pending = self._pending[key] = _Pending(piece, now + self.wait)
        pending.parts.setdefault(concat.seq, piece.data)  # a part sent twice counts once
        if len(pending.parts) == concat.total:
            done.append(self._join(self._pending.pop(key)))
        return done

    def due(self, now: float) -> list[Assembled]:
        """The messages whose wait ran out, with the parts they have."""
        late = [key for key, pending in self._pending.items() if pending.deadline <= now]
        return [self._join(self._pending.pop(key)) for key in late]

    def next_deadline(self) -> float | None:
        return min((pending.deadline for pending in self._pending.values()), default=None)

    def flush(self) -> list[Assembled]:
        """Everything still waiting, as it is (stopping)."""
        pending, self._pending = list(self._pending.values()), {}
        return [self._join(each) for each in pending]

    @staticmethod
    def _join(pending: _Pending) -> Assembled:
        first = pending.first
        assert first.concat is not None
        total = first.concat.total
        data = b"".join(pending.parts[seq] for seq in sorted(pending.parts))
        missing = tuple(seq for seq in range(1, total + 1) if seq not in pending.parts)
        return Assembled(first.source, first.destination, codec.decode(data, first.data_coding), total, missing)
