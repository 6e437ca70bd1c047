from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loft.kit import segments
from loft.kit.segments import SegmentInfo, analyse, count, is_gsm7, smart_encode

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./"
    + string.digits
    + ":;<=>?¡"
    + string.ascii_uppercase
    + "ÄÖÑÜ§¿"
    + string.ascii_lowercase
    + "äöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
GSM_ALL = GSM_BASIC + GSM_EXTENSION
EMOJI = "😀"  # U+1F600, two UTF-16 code units
UCS = "ж"  # a BMP character outside GSM-7, forces UCS-2 at one code unit


def reference_segments(body: str) -> int:
    """Twilio's calculator algorithm, literally: fill 1120-bit segments char by char; on the first overflow give
    the first segment its 48-bit User Data Header and move the chars that no longer fit to the second one."""
    if all(char in GSM_ALL for char in body):
        sizes = [14 if char in GSM_EXTENSION else 7 for char in body]
    else:
        sizes = [32 if ord(char) > 0xFFFF else 16 for char in body]
    built: list[tuple[list[bool], list[int]]] = [([False], [])]

    def free(segment: tuple[list[bool], list[int]]) -> int:
        return 1120 - (48 if segment[0][0] else 0) - sum(segment[1])

    for size in sizes:
        current = built[-1]
        if free(current) < size:
            previous = current
            current = ([True], [])
            built.append(current)
            if not previous[0][0]:
                previous[0][0] = True
                while free(previous) < 0:
                    current[1].insert(0, previous[1].pop())
        current[1].append(size)
    return len(built)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", SegmentInfo("GSM-7", 1, 0), id="empty-body-is-one-gsm-segment"),
        pytest.param("a", SegmentInfo("GSM-7", 1, 1), id="one-char"),
        pytest.param("a" * 160, SegmentInfo("GSM-7", 1, 160), id="160-gsm-fits-one-segment"),
        pytest.param("a" * 161, SegmentInfo("GSM-7", 2, 161), id="161-gsm-needs-two"),
        pytest.param("a" * 306, SegmentInfo("GSM-7", 2, 306), id="306-gsm-fills-two-of-153"),
        pytest.param("a" * 307, SegmentInfo("GSM-7", 3, 307), id="307-gsm-needs-three"),
        pytest.param("a" * 459, SegmentInfo("GSM-7", 3, 459), id="459-gsm-fills-three"),
        pytest.param("a" * 460, SegmentInfo("GSM-7", 4, 460), id="460-gsm-needs-four"),
        pytest.param("@$_£¥§¿¡ΔΩ" * 16, SegmentInfo("GSM-7", 1, 160), id="non-ascii-basic-chars-are-one-septet"),
        pytest.param("€" * 80, SegmentInfo("GSM-7", 1, 160), id="80-euro-are-160-septets"),
        pytest.param("€" * 81, SegmentInfo("GSM-7", 2, 162), id="81-euro-need-two"),
        pytest.param("{}" * 40, SegmentInfo("GSM-7", 1, 160), id="ascii-extension-chars-count-double"),
        pytest.param("\f" * 81, SegmentInfo("GSM-7", 2, 162), id="form-feed-is-extension"),
        pytest.param("a" * 159 + "^", SegmentInfo("GSM-7", 2, 161), id="extension-char-past-160-septets"),
        pytest.param("a" * 152 + "€", SegmentInfo("GSM-7", 1, 154), id="escape-pair-within-single-segment"),
        pytest.param(
            "a" * 151 + "€" + "a" * 153, SegmentInfo("GSM-7", 2, 306), id="escape-pair-ending-segment-exactly"
        ),
        pytest.param(
            "a" * 152 + "€" + "a" * 152, SegmentInfo("GSM-7", 3, 306), id="escape-pair-not-split-across-segments"
        ),
        pytest.param(
            "a" * 152 + "€" * 2 + "a" * 148 + "[",
            SegmentInfo("GSM-7", 3, 306),
            id="escape-pairs-not-split-in-later-segments",
        ),
        pytest.param(UCS * 70, SegmentInfo("UCS-2", 1, 70), id="70-ucs2-fits-one-segment"),
        pytest.param(UCS * 71, SegmentInfo("UCS-2", 2, 71), id="71-ucs2-needs-two"),
        pytest.param(UCS * 134, SegmentInfo("UCS-2", 2, 134), id="134-ucs2-fills-two-of-67"),
        pytest.param(UCS * 135, SegmentInfo("UCS-2", 3, 135), id="135-ucs2-needs-three"),
        pytest.param(UCS + "a" * 69, SegmentInfo("UCS-2", 1, 70), id="one-non-gsm-char-makes-all-ucs2"),
        pytest.param("€" * 69 + UCS, SegmentInfo("UCS-2", 1, 70), id="extension-chars-are-one-unit-in-ucs2"),
        pytest.param(EMOJI * 35, SegmentInfo("UCS-2", 1, 70), id="emoji-are-two-code-units"),
        pytest.param(EMOJI * 36, SegmentInfo("UCS-2", 2, 72), id="36-emoji-need-two"),
        pytest.param(UCS + "a" * 68 + EMOJI, SegmentInfo("UCS-2", 2, 71), id="emoji-past-70-units"),
        pytest.param(
            UCS + "a" * 64 + EMOJI + "a" * 67, SegmentInfo("UCS-2", 2, 134), id="surrogate-pair-ending-segment-exactly"
        ),
        pytest.param(
            UCS + "a" * 65 + EMOJI + "a" * 66, SegmentInfo("UCS-2", 3, 134), id="surrogate-pair-not-split"
        ),
        pytest.param(
            UCS + "a" * 65 + EMOJI + "a" * 64 + EMOJI, SegmentInfo("UCS-2", 3, 134), id="surrogate-pairs-not-split"
        ),
        pytest.param("`", SegmentInfo("UCS-2", 1, 1), id="backtick-forces-ucs2"),
        pytest.param("a" * 100 + "`", SegmentInfo("UCS-2", 2, 101), id="backtick-in-long-ascii-forces-ucs2"),
        pytest.param("tab\there", SegmentInfo("UCS-2", 1, 8), id="tab-forces-ucs2"),
        pytest.param("line\r\nbreak\n", SegmentInfo("GSM-7", 1, 12), id="cr-lf-are-gsm"),
    ],
)
def test_analyse_counts_encoding_segments_and_units(body: str, expected: SegmentInfo) -> None:
    assert analyse(body) == expected
    assert count(body) == expected.segments
    assert is_gsm7(body) is (expected.encoding == "GSM-7")
    assert reference_segments(body) == expected.segments


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", True, id="empty"),
        pytest.param(GSM_ALL, True, id="whole-gsm-table"),
        pytest.param("Hello, world! Your code is 123456.", True, id="plain-ascii"),
        pytest.param("Ç", True, id="capital-c-cedilla"),
        pytest.param("ç", False, id="small-c-cedilla"),
        pytest.param("Α", False, id="greek-capital-alpha"),
        pytest.param("`", False, id="backtick"),
        pytest.param("\t", False, id="tab"),
        pytest.param("\x1b", False, id="raw-escape"),
        pytest.param("\x7f", False, id="delete"),
        pytest.param("\x00", False, id="nul"),
        pytest.param("\u00a0", False, id="nbsp"),
        pytest.param("’", False, id="curly-apostrophe"),
        pytest.param(EMOJI, False, id="emoji"),
    ],
)
def test_is_gsm7_follows_the_gsm_tables(body: str, expected: bool) -> None:
    assert is_gsm7(body) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("“Hello” «there» „x‟", '"Hello" "there" "x"', id="double-quotes"),
        pytest.param("‘it’s’ ‛a´ `b ʼc", "'it's' 'a' 'b 'c", id="single-quotes-and-accents"),
        pytest.param("a‚b", "a,b", id="single-low-9-quote-becomes-comma-as-in-twilios-map"),
        pytest.param("a–b—c―d‐e‑f‒g•h−i", "a-b-c-d-e-f-g-h-i", id="dashes-and-bullet"),
        pytest.param("wait…", "wait...", id="ellipsis"),
        pytest.param(
            "a\u00a0b\u2002c\u2003d\u2009e\u200af\u2007g\u3000h\u2028i\u2029j\u202fk",
            "a b c d e f g h i j k",
            id="unicode-spaces",
        ),
        pytest.param("a\u200bb\ufeffc\u2060d\u00ade", "abcde", id="invisible-chars-removed"),
        pytest.param("a\u200db\u200cc", "abc", id="joiners-between-gsm-removed"),
        pytest.param("\u200dx\u200d", "x", id="joiners-at-the-ends-removed"),
        pytest.param("！＃＄％＆０９：ＡＺａｚ［］｛｝～", "!#$%&09:AZaz[]{}~", id="fullwidth-ascii"),
        pytest.param("｀", "'", id="fullwidth-backtick-becomes-apostrophe"),
        pytest.param("½ ¼ ¾", "1/2 1/4 3/4", id="vulgar-fractions"),
        pytest.param("6÷3 1⁄2 a∕b", "6/3 1/2 a/b", id="division-and-fraction-slashes"),
        pytest.param("‹a› ˆ ˜ ¦", "<a> ^ ~ |", id="angle-quotes-circumflex-tilde-bar"),
        pytest.param("‼", "!!", id="double-exclamation"),
        pytest.param("ᴀʙᴄ", "ABC", id="small-capitals"),
        pytest.param("a\tb", "a b", id="tab-becomes-space"),
        pytest.param("a\x00b\x03c", "abc", id="control-chars-removed"),
        pytest.param("Hi 😀 “x”", 'Hi 😀 "x"', id="emoji-kept-look-alikes-replaced"),
        pytest.param("你好。世界", "你好.世界", id="cjk-kept-ideographic-stop-replaced"),
        pytest.param("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family", id="zwj-emoji-sequence-kept"),
        pytest.param("مى\u200cخواهم", "مى\u200cخواهم", id="zwnj-inside-persian-kept"),
        pytest.param("ç ñ", "ç ñ", id="letters-without-look-alike-kept"),
        pytest.param(GSM_ALL, GSM_ALL, id="gsm-text-unchanged"),
        pytest.param("", "", id="empty"),
    ],
)
def test_smart_encode_replaces_look_alikes(body: str, expected: str) -> None:
    assert smart_encode(body) == expected


def test_smart_encode_turns_a_two_segment_ucs2_body_into_one_gsm_segment() -> None:
    body = "“Don’t miss out” — reply YES… " * 3
    assert analyse(body).encoding == "UCS-2"
    assert count(body) == 2
    encoded = smart_encode(body)
    assert analyse(encoded) == SegmentInfo("GSM-7", 1, len(encoded))


def test_smart_encoding_map_only_replaces_non_gsm_chars_with_gsm_text() -> None:
    table = segments._SMART_MAP
    assert len(table) > 250
    assert not [char for char in table if is_gsm7(char)]
    assert not [char for char, replacement in table.items() if not is_gsm7(replacement)]


LOOK_ALIKES = "".join(segments._SMART_MAP) + "\u200c\u200d"
NON_GSM_WITHOUT_LOOK_ALIKE = "😀👍🏽你好世界жçÀ\u20e3\ufe0f"


@given(st.text(alphabet=st.sampled_from(LOOK_ALIKES + GSM_ALL)))
def test_smart_encode_of_look_alikes_and_gsm_is_gsm7(body: str) -> None:
    assert is_gsm7(smart_encode(body))


@given(st.text(alphabet=st.sampled_from(GSM_ALL + NON_GSM_WITHOUT_LOOK_ALIKE)))
def test_smart_encode_keeps_gsm_emoji_and_cjk(body: str) -> None:
    assert smart_encode(body) == body


@given(st.text())
def test_analyse_is_consistent_for_any_text(body: str) -> None:
    info = analyse(body)
    assert info.segments >= 1
    assert count(body) == info.segments
    assert (info.encoding == "GSM-7") is is_gsm7(body)
    if info.encoding == "GSM-7":
        assert info.units == len(body) + sum(char in GSM_EXTENSION for char in body)
    else:
        assert info.units == len(body.encode("utf-16-le", "surrogatepass")) // 2
    assert info.segments == reference_segments(body)


@given(st.text(alphabet=st.sampled_from("a€{" + UCS + EMOJI), max_size=700))
def test_segment_boundaries_match_twilios_calculator(body: str) -> None:
    assert count(body) == reference_segments(body)


@given(st.text(alphabet=st.sampled_from("a€{"), min_size=150, max_size=700))
def test_gsm_segment_boundaries_match_twilios_calculator(body: str) -> None:
    assert count(body) == reference_segments(body)
