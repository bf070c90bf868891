"""SMS encoding: GSM 03.38 detection, segment counting, splitting and normalisation."""
from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.library.smsencoding import SmsInfo, analyse, is_gsm, normalise_gsm, split

# Reference: Unicode's GSM0338.TXT, code -> code point, written out independently of the
# module's table so a typo in one shows up as a disagreement.
GSM0338_BASIC = [
    0x40, 0xA3, 0x24, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0x0A, 0xD8, 0xF8, 0x0D, 0xC5, 0xE5,
    0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, None, 0xC6, 0xE6,
    0xDF, 0xC9, 0x20, 0x21, 0x22, 0x23, 0xA4, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D,
    0x2E, 0x2F, *range(0x30, 0x40), 0xA1, *range(0x41, 0x5B), 0xC4, 0xD6, 0xD1, 0xDC, 0xA7,
    0xBF, *range(0x61, 0x7B), 0xE4, 0xF6, 0xF1, 0xFC, 0xE0,
]
GSM0338_EXTENSION = {0x0A: 0x0C, 0x14: 0x5E, 0x28: 0x7B, 0x29: 0x7D, 0x2F: 0x5C, 0x3C: 0x5B,
                     0x3D: 0x7E, 0x3E: 0x5D, 0x40: 0x7C, 0x65: 0x20AC}
BASIC = {chr(cp) for cp in GSM0338_BASIC if cp is not None}
EXTENSION = {chr(cp) for cp in GSM0338_EXTENSION.values()}

gsm_text = st.text(alphabet=st.sampled_from(sorted(BASIC | EXTENSION)), max_size=700)
any_text = st.text(max_size=400)
mixed_text = st.one_of(gsm_text, any_text, st.text(
    alphabet=st.sampled_from(sorted(BASIC | EXTENSION) + ["😀", "€", "–", "ç", "\U0001F600"]),
    max_size=500))


def reference_units(text: str) -> tuple[str, list[int]]:
    """Encode per the reference tables: each character's cost in units."""
    if all(c in BASIC or c in EXTENSION for c in text):
        return "GSM-7", [2 if c in EXTENSION else 1 for c in text]
    return "UCS-2", [len(c.encode("utf-16-le")) // 2 for c in text]


def test_reference_table_is_complete() -> None:
    assert len(GSM0338_BASIC) == 128
    assert len(BASIC) == 127


def test_alphabet_agrees_with_reference() -> None:
    for cp in range(0x3000):
        assert is_gsm(chr(cp)) == (chr(cp) in BASIC or chr(cp) in EXTENSION), hex(cp)


@pytest.mark.parametrize("char", list("åäöÅÄÖéÉ"))
def test_swedish_letters_are_basic_gsm(char: str) -> None:
    info = analyse(char * 160)
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 160, 1)


@pytest.mark.parametrize("char", list("^{}\\[~]|€\x0c"))
def test_extension_characters_cost_two(char: str) -> None:
    assert analyse(char).units == 2
    assert analyse(char * 80).segments == 1
    assert analyse(char * 81).segments == 2


def test_single_and_multipart_limits() -> None:
    assert analyse("a" * 160) == SmsInfo("GSM-7", 160, 160, 1, 160)
    assert analyse("a" * 161) == SmsInfo("GSM-7", 161, 161, 2, 153)
    assert analyse("a" * 306).segments == 2
    assert analyse("a" * 307).segments == 3
    assert analyse("ç" * 70) == SmsInfo("UCS-2", 70, 70, 1, 70)
    assert analyse("ç" * 71) == SmsInfo("UCS-2", 71, 71, 2, 67)


def test_escape_pair_moves_to_next_segment_whole() -> None:
    text = "a" * 152 + "€" + "b" * 10
    parts = split(text)
    assert parts[0] == "a" * 152
    assert parts[1].startswith("€")
    assert analyse(text).segments == 2


def test_emoji_counts_two_units_and_is_never_split() -> None:
    assert analyse("😀").units == 2
    text = "x" * 66 + "😀" + "yyy"
    assert split(text) == ["x" * 66, "😀yyy"]


def test_empty_text_has_no_segments() -> None:
    assert analyse("") == SmsInfo("GSM-7", 0, 0, 0, 160)
    assert split("") == []


def test_one_ucs2_character_switches_whole_message() -> None:
    assert analyse("Hej " * 10 + "–").encoding == "UCS-2"


def test_normalise_gsm_replaces_typography() -> None:
    raw = "\u201cHej\u201d \u2013 vi\u2019r p\u00e5 v\u00e4g\u2026\u00a0kl.\u202f13"
    assert normalise_gsm(raw) == '"Hej" - vi\'r på väg... kl. 13'
    assert is_gsm(normalise_gsm(raw))


def test_info_round_trips_through_dict() -> None:
    info = analyse("Hej")
    assert SmsInfo.from_dict(info.to_dict()) == info


@settings(max_examples=150, deadline=None)
@given(mixed_text)
def test_analyse_agrees_with_reference(text: str) -> None:
    encoding, costs = reference_units(text)
    info = analyse(text)
    assert info.encoding == encoding
    assert info.units == sum(costs)
    assert info.characters == len(text)


@settings(max_examples=150, deadline=None)
@given(mixed_text)
def test_split_agrees_with_analyse_and_limits(text: str) -> None:
    info = analyse(text)
    parts = split(text)
    assert "".join(parts) == text
    assert len(parts) == info.segments
    encoding, _ = reference_units(text)
    for part in parts:
        units = sum(reference_units(part)[1]) if encoding == "UCS-2" else sum(
            2 if c in EXTENSION else 1 for c in part)
        assert 0 < units <= info.per_segment
    if info.segments > 1:
        # Splitting greedily: a segment only ends early when the next character does not fit.
        for part, following in pairwise(parts):
            first = following[0]
            extra = 2 if (first in EXTENSION if encoding == "GSM-7" else ord(first) > 0xFFFF) else 1
            used = sum(reference_units(part)[1]) if encoding == "UCS-2" else sum(
                2 if c in EXTENSION else 1 for c in part)
            assert used + extra > info.per_segment


@settings(max_examples=100, deadline=None)
@given(any_text)
def test_normalise_is_idempotent_and_never_adds_ucs2(text: str) -> None:
    once = normalise_gsm(text)
    assert normalise_gsm(once) == once
    if is_gsm(text):
        assert once == text
