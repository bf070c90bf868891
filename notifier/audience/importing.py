"""Import subscribers from CSV: match, change only what differs, report every line it refuses.

Rows are read one by one and written a chunk at a time (a few bulk statements per chunk, each
chunk its own short transaction when importing a file), so memory stays flat and the sending
workers are never locked out for long. Importing the same file twice changes nothing.
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy.orm import Session

from .. import audit, db
from ..texts import Text, _l
from . import changes as planning
from . import matching, reading
from .reading import ImportFileError
from .rows import ImportRow, RowError, is_empty, parse

CHUNK = 1000
MAX_ISSUES = 1000  # a report lists this many lines; the rest are counted


@dataclass(frozen=True)
class Issue:
    """One line the import refused (nothing of it written) or kept in part (a warning)."""

    line: int
    text: Text
    refused: bool


@dataclass
class ImportReport:
    """What an import did, or would do with --dry-run, line by line."""

    dry_run: bool = False
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # empty rows
    refused: int = 0
    issues: list[Issue] = field(default_factory=list)
    more_issues: int = 0
    new_segments: list[str] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)
    stopped_at: int | None = None  # the time limit ran out before this line

    def issue(self, line: int, text: Text, refused: bool) -> None:
        """Report a line."""
        self.refused += refused
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(line, text, refused))
        else:
            self.more_issues += 1

    @property
    def errors(self) -> list[tuple[int, str]]:
        """Return the refused lines with their reasons, in English."""
        return [(i.line, str(i.text)) for i in self.issues if i.refused]

    @property
    def warnings(self) -> list[tuple[int, str]]:
        """Return the lines kept in part, with what was left out, in English."""
        return [(i.line, str(i.text)) for i in self.issues if not i.refused]

    def summary(self) -> Text:
        """Say in one line what happened."""
        message = _l("%(added)d added, %(updated)d updated, %(refused)d refused, "
                     "%(unchanged)d unchanged") if not self.dry_run else \
            _l("dry run, nothing written: %(added)d would be added, %(updated)d updated, "
               "%(refused)d refused, %(unchanged)d unchanged")
        return Text(message, {"added": self.added, "updated": self.updated,
                              "unchanged": self.unchanged, "refused": self.refused})


class _DryRun(Exception):
    """Raised at the end of a dry run so its one transaction is rolled back."""


@dataclass
class _Run:
    """One import in progress."""

    report: ImportReport
    transaction: Callable[[], AbstractContextManager[Session]]
    progress: Callable[[], None] = lambda: None
    deadline: float | None = None
    touched: matching.Touched = field(default_factory=matching.Touched)
    segments: planning.Segments | None = None

    def rows(self, lines: reading.Lines, header: reading.Header) -> Iterator[ImportRow]:
        for record in reading.records(lines, header.delimiter):
            if record.cells is None:
                self.report.issue(record.line, record.problem or Text(""), refused=True)
            elif is_empty(record.cells):
                self.report.skipped += 1
            else:
                try:
                    yield parse(record.line, record.cells, header)
                except RowError as exc:
                    self.report.issue(record.line, exc.text, refused=True)

    def run(self, lines: Iterator[str]) -> None:
        header = _header(lines, self.report)
        batch: list[ImportRow] = []
        for row in self.rows(reading.Lines(lines, 2), header):
            if not batch and self.deadline is not None and time.monotonic() > self.deadline:
                self.report.stopped_at = row.line
                break
            batch.append(row)
            if len(batch) >= CHUNK:
                self.chunk(batch)
                batch = []
        if batch:
            self.chunk(batch)

    def chunk(self, rows: list[ImportRow]) -> None:
        """Match and write one chunk of rows in one transaction."""
        with self.transaction() as s:
            if self.segments is None:
                self.segments = planning.Segments(s)
            known = matching.load(s, rows)
            todo = planning.Changes()
            for row in rows:
                try:
                    person_id = matching.match(row, known, self.touched)
                    person = None if person_id is None else known.people[person_id]
                    outcome = planning.plan(s, row, person, known, todo, self.segments)
                except RowError as exc:
                    self.report.issue(row.line, exc.text, refused=True)
                    continue
                self.touched.add(person.id if person is not None else todo.new_people[-1].id)
                for invalid in row.invalid:
                    self.report.issue(row.line, Text(_l("%(why)s; the row's other addresses are "
                                                        "kept"), {"why": invalid}), refused=False)
                setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            planning.write(s, todo, self.touched)
            s.flush()
        self.progress()


def _header(lines: Iterator[str], report: ImportReport) -> reading.Header:
    first = next(lines, None)
    if first is None or not first.strip():
        raise ImportFileError(_l("The file is empty. %(help)s"), help=reading.HEADER_HELP)
    header = reading.parse_header(first.rstrip("\r\n"))
    if header.delimiter != ",":
        report.notes.append(Text(_l("read with %(what)s between columns"),
                                 {"what": Text(reading.DELIMITERS[header.delimiter])}))
    if header.ignored:
        report.notes.append(Text(_l("columns not read: %(names)s"),
                                 {"names": ", ".join(header.ignored)}))
    return header


def import_csv(s: Session, text: str, *, dry_run: bool = False) -> ImportReport:
    """Import CSV text within the caller's transaction (demo data, tests)."""
    report = ImportReport(dry_run=dry_run)
    run = _Run(report, lambda: nullcontext(s))
    run.run(iter(io.StringIO(text.lstrip("\ufeff"), newline="")))
    _finish(s, run)
    return report


def import_file(stream: IO[bytes], *, dry_run: bool = False,
                progress: Callable[[], None] = lambda: None,
                time_limit: float | None = None) -> ImportReport:
    """Import a CSV file (UTF-8 or Windows-1252), a chunk per transaction; dry-run writes nothing.

    With a time limit the import stops between chunks once it has run out and says at which
    line: the rows before are imported, and importing the whole file again finishes the job.
    """
    encoding, note = reading.detect_encoding(stream)
    report = ImportReport(dry_run=dry_run, notes=[note] if note else [])
    deadline = None if time_limit is None else time.monotonic() + time_limit
    lines = reading.text_lines(stream, encoding)
    try:
        if dry_run:
            _dry_run(lines, _Run(report, db.transaction, progress, deadline))
            return report
        run = _Run(report, db.transaction, progress, deadline)
        run.run(iter(lines))
        with db.transaction() as s:
            _finish(s, run)
        return report
    finally:
        lines.detach()


def _dry_run(lines: io.TextIOWrapper, run: _Run) -> None:
    """Run the whole import in one transaction and roll it back."""
    try:
        with db.transaction() as s:
            run.transaction = lambda: nullcontext(s)
            run.run(iter(lines))
            _finish(s, run)
            raise _DryRun
    except _DryRun:
        pass


def _finish(s: Session, run: _Run) -> None:
    report = run.report
    report.new_segments = sorted(run.segments.new) if run.segments else []
    if not report.dry_run:
        audit.record(s, "subscribers.import", "", added=report.added, updated=report.updated,
                     unchanged=report.unchanged, refused=report.refused,
                     new_segments=report.new_segments)

