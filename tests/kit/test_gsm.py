"""GSM 03.38 as SMPP carries it (unpacked septets): every character of the basic and extension tables, both ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loft.kit import gsm, segments
from tests.kit.test_segments import GSM_ALL, GSM_BASIC, GSM_EXTENSION


def test_the_basic_table_is_one_septet_each_in_03_38_order() -> None:
    encoded = gsm.encode("@£$¥Ç\nØ\rΔ_ !09AZ¡ÄÖÑÜ§¿azäöñüà")
    assert encoded == bytes([0x00, 0x01, 0x02, 0x03, 0x09, 0x0A, 0x0B, 0x0D, 0x10, 0x11, 0x20, 0x21, 0x30, 0x39,
                             0x41, 0x5A, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x61, 0x7A, 0x7B, 0x7C, 0x7D,
                             0x7E, 0x7F])
    assert len(gsm.encode(GSM_BASIC)) == len(GSM_BASIC)


def test_the_extension_table_is_an_escape_and_a_code() -> None:
    assert gsm.encode("€[]{}") == bytes([0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29])
    assert len(gsm.encode(GSM_EXTENSION)) == 2 * len(GSM_EXTENSION)


@given(st.text(alphabet=GSM_ALL, max_size=400))
def test_what_is_encoded_decodes_to_itself_in_as_many_septets_as_segments_count(text: str) -> None:
    encoded = gsm.encode(text)
    assert gsm.decode(encoded) == text
    assert len(encoded) == segments.analyse(text).units


@pytest.mark.parametrize("text", [pytest.param("`", id="backtick"), pytest.param("\t", id="tab"),
                                  pytest.param("ж", id="cyrillic"), pytest.param("\x1b", id="escape-itself")])
def test_a_character_outside_the_alphabet_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not in the GSM 03.38 alphabet"):
        gsm.encode("ok " + text)


@pytest.mark.parametrize(("septets", "text"), [
    pytest.param(bytes([0x1B, 0x41]), "A", id="unknown-escape-reads-as-the-basic-character"),
    pytest.param(bytes([0x41, 0x1B]), "A ", id="escape-at-the-end"),
    pytest.param(bytes([0x1B, 0x1B, 0x41]), " A", id="two-escapes"),
    pytest.param(bytes([0x41, 0x80, 0xFF]), "A\ufffd\ufffd", id="octets-no-septet-is"),
])
def test_decoding_what_an_smsc_may_send(septets: bytes, text: str) -> None:
    assert gsm.decode(septets) == text
