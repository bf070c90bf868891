"""Subscribers, their subscriptions and segments: addresses, CSV import, who a notice reaches.

Modules: `addresses` (normalising phone numbers, emails, chat ids), `reading` (the CSV file with
its limits), `rows` (one record as an import row), `matching` (who a row is), `changes` (what a
chunk writes), `importing` (the import and its report), `selection` (who a notice reaches),
`directory` (finding and fixing subscribers in the console).
"""
from __future__ import annotations

from .addresses import (
    AddressError,
    normalise,
    normalise_chat_id,
    normalise_email,
    normalise_phone,
)
from .importing import ImportReport, Issue, import_csv, import_file
from .reading import ImportFileError
from .selection import check_segments, counts, selection

COLUMNS = ("name", "language", "phone", "email", "telegram_chat_id", "segments")

__all__ = [
    "COLUMNS", "AddressError", "ImportFileError", "ImportReport", "Issue", "check_segments",
    "counts", "import_csv", "import_file", "normalise", "normalise_chat_id", "normalise_email",
    "normalise_phone", "selection",
]
