"""Reading a subscriber CSV as spreadsheets write it, with limits, line by line, never all at once.

Whatever the file holds, reading it costs bounded memory and time per line: a line over
MAX_LINE characters, a NUL, or a quote left open for more than MAX_RECORD_LINES lines is one
line-numbered problem, and reading goes on at the next line.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from ..errors import NotifierError
from ..texts import Text, _l

MAX_LINE = 64 * 1024
MAX_COLUMNS = 64
MAX_RECORD_LINES = 10  # a quoted cell may hold line breaks, but not this many
SNIFF_CHUNK = 1 << 16
DELIMITERS = {",": _l("commas"), ";": _l("semicolons"), "\t": _l("tabs")}

# Column -> the header names that mean it (compared in lower case, "_" read as a space).
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "namn", "full name", "fullständigt namn"),
    "language": ("language", "språk", "sprak", "lang"),
    "phone": ("phone", "telefon", "mobil", "mobile", "mobilnummer", "telefonnummer", "sms"),
    "email": ("email", "e-post", "epost", "e-mail", "mail", "e-postadress"),
    "telegram_chat_id": ("telegram chat id", "telegram", "telegram-id", "telegram id"),
    "segments": ("segments", "segment", "grupp", "grupper", "groups"),
    "external_id": ("external id", "kundnummer", "kund-id", "customer id", "customer number",
                    "externt id", "id"),
}
ADDRESS_COLUMNS = {"phone": "sms", "email": "email", "telegram_chat_id": "telegram"}
HEADER_HELP = _l("The first line must name the columns: name (namn) and at least one of phone "
                 "(telefon), email (e-post) or telegram; optional language (språk), segments "
                 "(segment, several separated by |) and external_id (kundnummer).")


class ImportFileError(NotifierError):
    """The file cannot be imported at all (nothing was changed); says what to do."""

    def __init__(self, message: str, **values: object) -> None:
        self.text = Text(message, dict(values))
        super().__init__(str(self.text))


@dataclass
class Header:
    """Which column of the file holds what; columns absent from the file are left alone."""

    index: dict[str, int]
    delimiter: str
    ignored: list[str] = field(default_factory=list)

    def has(self, column: str) -> bool:
        """Tell whether the file has this column."""
        return column in self.index


@dataclass(frozen=True)
class Record:
    """One record: the physical line it starts on, and its cells (or why it could not be read)."""

    line: int
    cells: list[str] | None
    problem: Text | None = None


def detect_encoding(stream: IO[bytes]) -> tuple[str, Text | None]:
    """Return the file's encoding: UTF-8 if all of it is, else Windows-1252 (Excel's "CSV")."""
    start = stream.read(4)
    stream.seek(0)
    if start.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportFileError(_l("This is an Excel workbook, not a CSV file: in Excel choose "
                                 "File > Save As > CSV UTF-8 (or CSV), then import that file."))
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(SNIFF_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252", Text(_l("read as Windows-1252 (not UTF-8)"))
    finally:
        stream.seek(0)
    return "utf-8-sig", None


def text_lines(stream: IO[bytes], encoding: str) -> io.TextIOWrapper:
    """Return the file as text lines, line breaks kept (bytes Windows-1252 lacks read as �).

    The caller detaches the wrapper when done, so the binary file stays open for it.
    """
    return io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")


def _key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").replace("_", " ").strip().lower().split())


COLUMN_OF = {alias: column for column, names in ALIASES.items() for alias in names}


def parse_header(line: str) -> Header:
    """Map the header line's names to columns; raise ImportFileError when it cannot be used."""
    if len(line) > MAX_LINE or "\x00" in line:
        raise ImportFileError(_l("The first line is not a CSV header. %(help)s"), help=HEADER_HELP)
    delimiter = max(DELIMITERS, key=line.count) if any(d in line for d in DELIMITERS) else ","
    try:
        names = next(csv.reader([line], delimiter=delimiter, strict=True), [])
    except csv.Error:
        raise ImportFileError(_l("The first line is not a CSV header. %(help)s"),
                              help=HEADER_HELP) from None
    if len(names) > MAX_COLUMNS:
        raise ImportFileError(_l("The header has %(n)d columns; at most %(max)d are read. "
                                 "%(help)s"), n=len(names), max=MAX_COLUMNS, help=HEADER_HELP)
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, raw in enumerate(names):
        column = COLUMN_OF.get(_key(raw))
        if column is None:
            if raw.strip():
                ignored.append(raw.strip()[:40])
        elif column in index:
            raise ImportFileError(_l("Two columns mean %(column)s: %(first)r and %(second)r. "
                                     "Remove one of them."), column=column,
                                  first=names[index[column]].strip(), second=raw.strip())
        else:
            index[column] = i
    _check_required(index, names)
    return Header(index, delimiter, ignored)


def _check_required(index: dict[str, int], names: list[str]) -> None:
    found = ", ".join(n.strip() for n in names if n.strip())[:200] or "-"
    if "name" not in index:
        raise ImportFileError(_l("The header has no name column (found: %(found)s). %(help)s"),
                              found=found, help=HEADER_HELP)
    if not any(c in index for c in ADDRESS_COLUMNS):
        raise ImportFileError(_l("The header has no phone, email or telegram column (found: "
                                 "%(found)s). %(help)s"), found=found, help=HEADER_HELP)


class Lines:
    """Physical lines with their numbers, some of which may be handed back to be read again."""

    def __init__(self, lines: Iterator[str], first: int) -> None:
        self._lines = enumerate(lines, start=first)
        self._back: deque[tuple[int, str]] = deque()

    def next(self) -> tuple[int, str] | None:
        """Return the next (line number, text), or None at the end."""
        if self._back:
            return self._back.popleft()
        return next(self._lines, None)

    def give_back(self, taken: list[tuple[int, str]]) -> None:
        """Put lines back to be read next, in order."""
        self._back.extendleft(reversed(taken))


def records(lines: Lines, delimiter: str) -> Iterator[Record]:
    """Yield the records after the header, each a list of cells or a problem to report."""
    while (first := lines.next()) is not None:
        line, text = first
        problem = _line_problem(text)
        if problem is not None:
            yield Record(line, None, problem)
        elif '"' not in text:
            yield Record(line, text.rstrip("\r\n").split(delimiter))
        else:
            yield _quoted(lines, first, delimiter)


def _line_problem(text: str) -> Text | None:
    if len(text) > MAX_LINE:
        return Text(_l("the line is %(n)d characters long; at most %(max)d are read (a cell "
                       "pasted by mistake?)"), {"n": len(text), "max": MAX_LINE})
    if "\x00" in text:
        return Text(_l("the line contains a NUL character: is this a text file?"))
    return None


def _quoted(lines: Lines, first: tuple[int, str], delimiter: str) -> Record:
    """Read a record with quotes, across lines if a quoted cell holds a line break."""
    taken = [first]
    size = len(first[1])
    while True:
        try:
            cells = next(csv.reader([t for _n, t in taken], delimiter=delimiter, strict=True))
            return Record(first[0], cells)
        except csv.Error as exc:
            more = lines.next() if "unexpected end of data" in str(exc) else None
            if more is None or len(taken) >= MAX_RECORD_LINES or size + len(more[1]) > MAX_LINE \
                    or _line_problem(more[1]) is not None:
                if more is not None:
                    taken.append(more)
                lines.give_back(taken[1:])  # read on right after the broken line
                return Record(first[0], None, Text(_l(
                    "the quoting is broken: a quote (\") is opened and not closed, or text "
                    "follows a closing quote; put quotes around a whole cell and double any "
                    "quote inside it (\"\")")))
            taken.append(more)
            size += len(more[1])
