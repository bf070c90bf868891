"""The one CSV writer: every CSV the notifier writes opens in Excel with Swedish intact and no formulas.

Cells starting with `=`, `+`, `-`, `@` (or a tab or carriage return) would run as formulas in a
spreadsheet (CSV injection): they get a leading apostrophe, except a valid E.164 phone number,
which stays as it is so a list of numbers can be used again. UTF-8 with a byte-order mark is what
Excel needs to read å, ä and ö.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def cell(value: Any) -> str:
    """Return a value as a CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _E164.match(text):
        return "'" + text
    return text


def rows_to_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return a whole CSV document (with the byte-order mark) as text."""
    return "".join(stream(header, rows))


def stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterable[str]:
    """Yield a CSV document piece by piece (a BOM, the header, then one line per row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield BOM
    writer.writerow([cell(v) for v in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
