"""Subscribers: CSV import."""
from __future__ import annotations

import sys
from typing import Any

import click

from .base import acts_as, app, fails_clearly


@click.group(help="Subscribers.")
def subscribers() -> None:
    """Group subscriber commands."""


@subscribers.command("import", help="Import subscribers from CSV "
                     "(name,language,phone,email,telegram_chat_id,segments[,external_id]; several "
                     "segments in one cell separated by |).")
@click.argument("file", type=click.File("rb"))
@fails_clearly
@acts_as("admin")
def subscribers_import(file: Any) -> None:
    from .. import audience
    from .. import db as database

    text, note = audience.decode(file.read())
    with app().app_context(), database.transaction() as s:
        report = audience.import_csv(s, text)
    for remark in ([note] if note else []) + report.notes:
        click.echo(f"note: {remark}")
    for line, reason in report.errors:
        click.echo(f"line {line}: {reason}", err=True)
    if report.new_segments:
        click.echo(f"new segments: {', '.join(report.new_segments)} (check them for typos)")
    click.echo(f"{report.added} added, {report.updated} updated, {len(report.errors)} refused")
    if report.errors:
        sys.exit(1)
