"""One CSV record as an import row: its valid addresses, what it leaves alone, what it refuses."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..addresses import AddressError, normalise
from ..texts import Text, _l
from .reading import ADDRESS_COLUMNS, Header

MAX_CELL = {"name": 200, "language": 20, "phone": 40, "email": 254, "telegram_chat_id": 20,
            "segments": 4000, "external_id": 120}
MAX_SEGMENTS = 50
MAX_SEGMENT_KEY = 64
SEGMENT_KEY = re.compile(r"^[\w-]+$")
LANGUAGE_NAMES = {"sv": "sv", "svenska": "sv", "swedish": "sv", "se": "sv",
                  "en": "en", "engelska": "en", "english": "en", "eng": "en"}


class RowError(Exception):
    """A row cannot be imported; the text says why."""

    def __init__(self, message: str, **values: object) -> None:
        self.text = Text(message, dict(values))
        super().__init__(str(self.text))


@dataclass
class ImportRow:
    """What one line asks for. None means the file has no such column: leave it alone."""

    line: int
    name: str
    language: str | None
    external_id: str | None
    addresses: dict[str, str]       # delivery channel -> address, valid ones only
    cleared: set[str]               # delivery channels whose cell is empty: no address there
    segments: list[str] | None
    invalid: list[Text] = field(default_factory=list)  # "column: why", for addresses refused


def is_empty(cells: list[str]) -> bool:
    """Tell whether a record has nothing in it (Excel's trailing ;;;;; rows)."""
    return not any(c.strip() for c in cells)


def parse(line: int, cells: list[str], header: Header) -> ImportRow:
    """Read one record; raise RowError for what refuses the whole row, warn for one bad address."""
    def get(column: str) -> str | None:
        i = header.index.get(column)
        if i is None:
            return None
        value = cells[i].strip() if i < len(cells) else ""
        if len(value) > MAX_CELL[column]:
            raise RowError(_l("%(column)s: the cell is %(n)d characters long; at most %(max)d"),
                           column=column, n=len(value), max=MAX_CELL[column])
        return value

    values = {column: get(column) for column in header.index}
    name = values.get("name") or ""
    if not name:
        raise RowError(_l("name: the cell is empty; every subscriber needs a name"))
    row = ImportRow(line, name, _language(values.get("language")),
                    values.get("external_id") or None, {}, set(), _segments(values.get("segments")))
    for column, channel in ADDRESS_COLUMNS.items():
        raw = values.get(column)
        if raw is None:
            continue
        if not raw:
            row.cleared.add(channel)
            continue
        try:
            row.addresses[channel] = normalise(channel, raw)
        except AddressError as exc:
            row.invalid.append(Text(_l("%(column)s: %(reason)s"),
                                    {"column": column, "reason": exc.text}))
    return row


def _language(raw: str | None) -> str | None:
    if not raw:
        return None
    language = LANGUAGE_NAMES.get(raw.lower())
    if language is None:
        raise RowError(_l("language: %(value)r is not one of sv, en"), value=raw)
    return language


def _segments(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    keys = [k.strip() for k in raw.split("|") if k.strip()]
    if len(keys) > MAX_SEGMENTS:
        raise RowError(_l("segments: %(n)d segments in one cell; at most %(max)d"),
                       n=len(keys), max=MAX_SEGMENTS)
    for key in keys:
        if len(key) > MAX_SEGMENT_KEY:
            raise RowError(_l("segments: a segment name is %(n)d characters long; at most "
                              "%(max)d"), n=len(key), max=MAX_SEGMENT_KEY)
        if not SEGMENT_KEY.match(key):
            raise RowError(_l("segments: %(value)r may hold only letters, digits, - and _ "
                              "(separate several segments with |)"), value=key)
    return list(dict.fromkeys(keys))
