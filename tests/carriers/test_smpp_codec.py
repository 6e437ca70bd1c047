"""What the SMPP carrier writes into PDUs and reads out of them, without a connection: parts that agree with
NumSegments, the three ways of joining them, addresses, submit_sm_resp statuses, receipts, and MO parts joined
again (in any order, with a deadline for the missing)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loft.delivery.carriers import smpp_codec as codec
from loft.delivery.carriers import smpp_mo
from loft.kit import gsm, segments
from tests.kit.test_segments import EMOJI, GSM_ALL, GSM_EXTENSION, UCS

BODIES = st.one_of(st.text(alphabet=GSM_ALL, max_size=1600),
                   st.text(alphabet=GSM_ALL + UCS + EMOJI, max_size=800),
                   st.text(max_size=400).filter(lambda text: "\x00" not in text))


@given(BODIES)
def test_a_body_is_cut_into_as_many_parts_as_its_segments(body: str) -> None:
    encoded = codec.split(body)
    info = segments.analyse(body)
    assert len(encoded.parts) == info.segments
    if info.encoding == "GSM-7":
        assert encoded.data_coding == 0 and gsm.decode(encoded.whole) == body
        limit = segments.GSM7_SINGLE if info.segments == 1 else segments.GSM7_MULTI
        assert all(len(part) <= limit and not part.endswith(b"\x1b") for part in encoded.parts)
    else:
        assert encoded.data_coding == 8 and encoded.whole.decode("utf-16-be", "surrogatepass") == body
        limit = 2 * (segments.UCS2_SINGLE if info.segments == 1 else segments.UCS2_MULTI)
        assert all(len(part) <= limit and len(part) % 2 == 0 for part in encoded.parts)
        assert all(not 0xD8 <= part[-2] <= 0xDB for part in encoded.parts if part)  # no surrogate pair cut


def test_an_escape_that_would_end_a_part_opens_the_next() -> None:
    body = "a" * 152 + "€" + "b" * 10
    first, second = codec.split(body).parts
    assert (len(first), second[:2]) == (152, b"\x1b\x65")
    assert segments.count(body) == 2


def test_udh_parts_share_a_reference_and_count_themselves() -> None:
    parts = codec.submits("x" * 400, "udh", 0x1234)
    assert [part.short_message[:6] for part in parts] == [bytes([5, 0, 3, 0x34, 3, seq]) for seq in (1, 2, 3)]
    assert {(part.esm_class, part.data_coding, part.tlvs) for part in parts} == {(0x40, 0, ())}
    assert b"".join(part.short_message[6:] for part in parts) == b"x" * 400


def test_sar_parts_carry_their_place_in_tlvs() -> None:
    parts = codec.submits(UCS * 100, "sar", 0x1234)
    assert [dict(part.tlvs) for part in parts] == [
        {codec.TLV_SAR_MSG_REF_NUM: b"\x12\x34", codec.TLV_SAR_TOTAL_SEGMENTS: b"\x02",
         codec.TLV_SAR_SEGMENT_SEQNUM: bytes([seq])} for seq in (1, 2)]
    assert {(part.esm_class, part.data_coding) for part in parts} == {(0, 8)}


def test_the_payload_option_sends_the_whole_body_once() -> None:
    [part] = codec.submits("y" * 400, "payload", 7)
    assert (part.short_message, dict(part.tlvs)) == (b"", {codec.TLV_MESSAGE_PAYLOAD: b"y" * 400})


@pytest.mark.parametrize("concatenation", ["udh", "sar", "payload"])
def test_a_body_that_fits_goes_alone_whatever_the_option(concatenation: codec.Concatenation) -> None:
    assert codec.submits("hi " + GSM_EXTENSION, concatenation, 9) == [codec.Part(gsm.encode("hi " + GSM_EXTENSION), 0)]


@pytest.mark.parametrize(("number", "wire"), [
    pytest.param("+14155550100", ("14155550100", 1, 1), id="e164"),
    pytest.param("LoftAlerts", ("LoftAlerts", 5, 0), id="alphanumeric"),
    pytest.param("12345", ("12345", 3, 0), id="short-code"),
])
def test_addresses_out(number: str, wire: tuple[str, int, int]) -> None:
    assert codec.address_out(number, 1, 1) == wire


@pytest.mark.parametrize(("wire", "number"), [
    pytest.param(("447700900123", 1, 1), "+447700900123", id="international"),
    pytest.param(("447700900123", 0, 1), "+447700900123", id="unknown-ton-isdn"),
    pytest.param(("+447700900123", 0, 0), "+447700900123", id="already-plus"),
    pytest.param(("12345", 3, 0), "12345", id="short-code"),
    pytest.param(("07700900123", 2, 1), "07700900123", id="national-stays"),
    pytest.param(("Bank", 5, 0), "Bank", id="alphanumeric"),
])
def test_addresses_in(wire: tuple[str, int, int], number: str) -> None:
    assert codec.address_in(*wire) == number


@pytest.mark.parametrize(("status", "verdict", "code"), [
    pytest.param(0x00, "taken", None, id="ok"),
    pytest.param(0x58, "later", None, id="throttled"),
    pytest.param(0x14, "later", None, id="queue-full"),
    pytest.param(0x08, "later", None, id="system-error"),
    pytest.param(0x64, "later", None, id="temporary-app-error"),
    pytest.param(0x04, "later", None, id="not-bound"),
    pytest.param(0x0B, "refused", 21211, id="invalid-destination"),
    pytest.param(0x51, "refused", 21211, id="invalid-destination-npi"),
    pytest.param(0x0A, "refused", 21212, id="invalid-source"),
    pytest.param(0x66, "refused", 30007, id="rejected-by-application"),
    pytest.param(0x45, "refused", 30008, id="submit-failed"),
    pytest.param(0x400, "refused", 30008, id="vendor-specific"),
])
def test_submit_answers(status: int, verdict: str, code: int | None) -> None:
    answer = codec.answer_of(status)
    assert (answer.verdict, answer.error_code) == (verdict, code)


RECEIPT = (b"id:2a0000017 sub:001 dlvrd:000 submit date:2612042232 done date:2612042233 stat:UNDELIV err:011 "
           b"text:hello")


def test_a_receipt_is_read_from_its_tlvs_first() -> None:
    tlvs = {codec.TLV_RECEIPTED_MESSAGE_ID: b"2A0000017\0", codec.TLV_MESSAGE_STATE: b"\x05"}
    assert codec.receipt_of(RECEIPT, 0, tlvs) == codec.Receipt("2A0000017", "UNDELIV", "011", 5, "2612042233")


def test_a_receipt_without_tlvs_is_read_from_its_text() -> None:
    assert codec.receipt_of(RECEIPT, 0, {}) == codec.Receipt("2a0000017", "UNDELIV", "011", None, "2612042233")
    assert codec.receipt_of(b"nothing to see", 0, {}) is None


@pytest.mark.parametrize(("stat", "state", "outcome", "code"), [
    pytest.param("DELIVRD", None, "delivered", None, id="delivrd"),
    pytest.param("delivered", None, "delivered", None, id="spelled-out"),
    pytest.param("ACCEPTD", None, "sent", None, id="acceptd"),
    pytest.param("ENROUTE", None, "sent", None, id="enroute"),
    pytest.param("UNDELIV", None, "undelivered", 30003, id="undeliv"),
    pytest.param("EXPIRED", None, "undelivered", 30003, id="expired"),
    pytest.param("REJECTD", None, "undelivered", 30007, id="rejectd"),
    pytest.param("DELETED", None, "undelivered", 30008, id="deleted"),
    pytest.param("UNKNOWN", None, "undelivered", 30008, id="unknown"),
    pytest.param("FAILED", None, "undelivered", 30008, id="a-word-smpp-lacks"),
    pytest.param(None, 2, "delivered", None, id="message-state-alone"),
    pytest.param(None, 8, "undelivered", 30007, id="message-state-rejected"),
])
def test_receipts_map_to_twilio_outcomes(stat: str | None, state: int | None, outcome: str, code: int | None) -> None:
    report = codec.report_of("smsc", codec.Receipt("m1", stat=stat, err="000", message_state=state))
    assert (report.carrier, report.reference, report.outcome, report.error_code) == ("smsc", "m1", outcome, code)
    assert report.detail["err"] == "000"


def test_receipt_errors_choose_the_code_by_err() -> None:
    errors = {"11": 30005, "0x1F": 30006}
    assert codec.report_of("s", codec.Receipt("m", "UNDELIV", "011"), errors).error_code == 30005
    assert codec.report_of("s", codec.Receipt("m", "REJECTD", "0x1f"), errors).error_code == 30006
    assert codec.report_of("s", codec.Receipt("m", "UNDELIV", "012"), errors).error_code == 30003
    assert codec.report_of("s", codec.Receipt("m", "DELIVRD", "011"), errors).error_code is None


# -- mobile-originated ------------------------------------------------------------------------------------------------


def _piece(data: bytes, *, esm_class: int = 0, data_coding: int = 0, tlvs: dict[int, bytes] | None = None,
           source: str = "447700900123") -> smpp_mo.Piece:
    return smpp_mo.piece_of(source=source, source_ton=1, source_npi=1, destination="14155550100", dest_ton=1,
                            dest_npi=1, esm_class=esm_class, data_coding=data_coding, short_message=data,
                            tlvs=tlvs or {})


def test_a_udh_names_its_part_with_an_8_or_16_bit_reference() -> None:
    eight = _piece(bytes([5, 0, 3, 0xAB, 3, 2]) + b"mid", esm_class=0x40)
    sixteen = _piece(bytes([6, 8, 4, 0x12, 0x34, 3, 1]) + b"first", esm_class=0x40)
    assert (eight.concat, eight.data) == (smpp_mo.Concat(0xAB, 3, 2), b"mid")
    assert (sixteen.concat, sixteen.data) == (smpp_mo.Concat(0x1234, 3, 1), b"first")
    assert (eight.source, eight.destination) == ("+447700900123", "+14155550100")


def test_a_part_may_be_named_by_sar_tlvs_or_come_whole_in_message_payload() -> None:
    sar = _piece(b"x", tlvs={codec.TLV_SAR_MSG_REF_NUM: b"\x00\x09", codec.TLV_SAR_TOTAL_SEGMENTS: b"\x02",
                             codec.TLV_SAR_SEGMENT_SEQNUM: b"\x02"})
    payload = _piece(b"", tlvs={codec.TLV_MESSAGE_PAYLOAD: b"the whole text"})
    assert sar.concat == smpp_mo.Concat(9, 2, 2)
    assert (payload.concat, payload.data) == (None, b"the whole text")


def _parts(text: str, total: int, ref: int = 7) -> list[smpp_mo.Piece]:
    data = gsm.encode(text)
    size = -(-len(data) // total)
    return [_piece(bytes([5, 0, 3, ref, total, seq]) + data[(seq - 1) * size:seq * size], esm_class=0x40)
            for seq in range(1, total + 1)]


def test_parts_are_joined_in_sequence_whatever_their_order() -> None:
    text = "".join(f"[{n:02d}]" for n in range(60))
    reassembly = smpp_mo.Reassembly(wait=60)
    parts = _parts(text, 12)
    done = [whole for part in reversed(parts) for whole in reassembly.add(part, now=0)]
    assert [(whole.body, whole.parts, whole.missing) for whole in done] == [(text, 12, ())]
    assert len(reassembly) == 0


def test_messages_in_parts_interleave_and_a_part_twice_counts_once() -> None:
    reassembly = smpp_mo.Reassembly(wait=60)
    first, second = _parts("one message here", 2, ref=1), _parts("another one", 2, ref=2)
    done = [whole.body for part in (first[0], second[1], first[0], second[0], first[1])
            for whole in reassembly.add(part, now=0)]
    assert done == ["another one", "one message here"]


def test_a_message_whose_parts_do_not_all_come_is_delivered_as_it_is_after_the_wait() -> None:
    reassembly = smpp_mo.Reassembly(wait=60)
    first, _, third = _parts("aaaabbbbcccc", 3)
    assert reassembly.add(first, now=100) == [] and reassembly.add(third, now=110) == []
    assert reassembly.next_deadline() == 160
    assert reassembly.due(now=159) == []
    [late] = reassembly.due(now=160)
    assert (late.body, late.parts, late.missing) == ("aaaacccc", 3, (2,))


def test_ucs2_parts_are_decoded_once_joined() -> None:
    text = "Привет 👋 from far away"
    data = text.encode("utf-16-be")
    cut = data.index("👋".encode("utf-16-be")) + 2  # inside the surrogate pair
    reassembly = smpp_mo.Reassembly(wait=60)
    done = [whole for seq, chunk in ((1, data[:cut]), (2, data[cut:]))
            for whole in reassembly.add(_piece(bytes([5, 0, 3, 4, 2, seq]) + chunk, esm_class=0x40, data_coding=8),
                                        now=0)]
    assert [whole.body for whole in done] == [text]


@pytest.mark.parametrize(("data", "data_coding", "text"), [
    pytest.param(gsm.encode("Grüße €"), 0, "Grüße €", id="gsm"),
    pytest.param("Grüße".encode("latin-1"), 3, "Grüße", id="latin1"),
    pytest.param(b"plain", 1, "plain", id="ia5"),
    pytest.param("Grüße €".encode("utf-16-be"), 8, "Grüße €", id="ucs2"),
    pytest.param(gsm.encode("class 1"), 0xF1, "class 1", id="message-class-gsm"),
])
def test_mo_text_by_data_coding(data: bytes, data_coding: int, text: str) -> None:
    assert codec.decode(data, data_coding) == text
