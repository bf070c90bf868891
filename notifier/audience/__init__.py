"""Subscribers, their subscriptions and segments: CSV import, who a notice reaches, the console.

Modules: `reading` (the CSV file with its limits), `rows` (one record as an import row),
`matching` (who a row is), `changes` (what a chunk writes), `importing` (the import and its
report), `selection` (who a notice reaches), `directory` (finding and fixing subscribers in the
console), `records` (one subscriber written whole, for the API). Addresses are normalised by
`notifier.addresses`.
"""
from __future__ import annotations

from .importing import ImportReport, Issue, import_csv, import_file
from .reading import ImportFileError
from .records import Row, parse_row, remove, save
from .selection import check_segments, counts, selection

COLUMNS = ("name", "language", "phone", "email", "telegram_chat_id", "segments")

__all__ = [
    "COLUMNS", "ImportFileError", "ImportReport", "Issue", "Row", "check_segments", "counts",
    "import_csv", "import_file", "parse_row", "remove", "save", "selection",
]
