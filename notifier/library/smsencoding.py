"""GSM 03.38 / UCS-2 detection, segment counting and GSM-safe normalisation of SMS text."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

# The GSM 03.38 default alphabet in code-point order (0x00..0x7F); 0x1B is the escape to
# the extension table, so it is a placeholder here and never matches real text.
_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM_BASIC = frozenset(_BASIC_TABLE) - {"\x1b"}
# Characters of the extension table: each is sent as ESC + code, so it costs two septets.
GSM_EXTENSION = frozenset("\x0c^{}\\[~]|€")

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

# Typography that phones and word processors insert, mapped to its plain GSM equivalent.
_GSM_SAFE = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\u2022": "-", "\u00b7": "-",
    "\u2026": "...", "\u00d7": "x", "\t": " ",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ", "\u2005": " ",
    "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    "\u2028": "\n", "\u2029": "\n",
}
_GSM_SAFE_TABLE = str.maketrans(_GSM_SAFE)


@dataclass(frozen=True)
class SmsInfo:
    """How a text travels as SMS: encoding, length in code units and segments."""

    encoding: str  # "GSM-7" | "UCS-2"
    characters: int  # code points as the reader sees them
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # capacity of one segment in units: 160/153 or 70/67

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SmsInfo:
        """Rebuild from `to_dict()` output."""
        return cls(str(data["encoding"]), int(data["characters"]), int(data["units"]),
                   int(data["segments"]), int(data["per_segment"]))


def is_gsm(text: str) -> bool:
    """Tell whether every character of the text exists in GSM 03.38 (basic or extension)."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def _cost(char: str, gsm: bool) -> int:
    """Units one character takes: escapes cost 2 septets, astral characters 2 UTF-16 units."""
    if gsm:
        return 2 if char in GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def _limits(text: str, gsm: bool) -> tuple[int, int]:
    """Return (total units, capacity per segment) for the text in its encoding."""
    units = sum(_cost(c, gsm) for c in text)
    single, multi = (GSM_SINGLE, GSM_MULTI) if gsm else (UCS2_SINGLE, UCS2_MULTI)
    return units, single if units <= single else multi


def _segments(text: str, gsm: bool, capacity: int) -> Iterator[str]:
    """Yield segment contents, never cutting an escape pair or a surrogate pair."""
    start, used = 0, 0
    for index, char in enumerate(text):
        cost = _cost(char, gsm)
        if used + cost > capacity:
            yield text[start:index]
            start, used = index, 0
        used += cost
    if start < len(text):
        yield text[start:]


def analyse(text: str) -> SmsInfo:
    """Count encoding, units and segments of the text as an SMS provider will."""
    gsm = is_gsm(text)
    units, capacity = _limits(text, gsm)
    segments = sum(1 for _ in _segments(text, gsm, capacity))
    return SmsInfo("GSM-7" if gsm else "UCS-2", len(text), units, segments, capacity)


def split(text: str) -> list[str]:
    """Return the contents of each segment the text is sent as."""
    gsm = is_gsm(text)
    _, capacity = _limits(text, gsm)
    return list(_segments(text, gsm, capacity))


def normalise_gsm(text: str) -> str:
    """Replace typographic quotes, dashes, ellipses and odd spaces with GSM-safe ones."""
    return text.translate(_GSM_SAFE_TABLE)
