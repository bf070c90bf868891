"""Subscribers: CSV import, a person's data (export, erasure), retention."""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from .base import app, fails_clearly


@click.group(help="Subscribers.")
def subscribers() -> None:
    """Group subscriber commands."""


def _echo_report(report: Any) -> None:
    for remark in report.notes:
        click.echo(f"note: {remark}")
    for issue in report.issues:
        kind = "" if issue.refused else "warning: "
        click.echo(f"line {issue.line}: {kind}{issue.text}", err=True)
    if report.more_issues:
        click.echo(f"... and {report.more_issues} more lines with problems", err=True)
    if report.new_segments:
        click.echo(f"new segments: {', '.join(report.new_segments)} (check them for typos)")
    if report.skipped:
        click.echo(f"{report.skipped} empty rows skipped")
    click.echo(str(report.summary()))


@subscribers.command("import", help="Import subscribers from CSV. Columns: name and at least one "
                     "of phone, email, telegram_chat_id; optional language, segments (several in "
                     "one cell separated by |) and external_id. Swedish names work too (namn, "
                     "språk, telefon, e-post, telegram, segment, kundnummer). Columns absent from "
                     "the file are left alone; importing the same file again changes nothing.")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@fails_clearly
def subscribers_import(file: Any, dry_run: bool) -> None:
    from .. import audience

    if not file.seekable():  # a pipe: the encoding check reads the file twice
        import shutil
        import tempfile

        spool = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the command
        shutil.copyfileobj(file, spool)
        spool.seek(0)
        file = spool
    size = os.fstat(file.fileno()).st_size
    with app().app_context(), click.progressbar(length=size, label="importing", file=sys.stderr,
                                                show_pos=False) as bar:
        done = [0]

        def progress() -> None:
            position = file.tell()
            bar.update(position - done[0])
            done[0] = position

        report = audience.import_file(file, dry_run=dry_run, progress=progress)
        bar.update(size - done[0])
    _echo_report(report)
    if report.refused:
        sys.exit(1)
