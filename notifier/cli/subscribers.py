"""Subscribers: CSV import, a person's data (export, erasure), retention."""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from .base import acts_as, app, fails_clearly


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
@acts_as("admin")
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


def _person_options(fn: Any) -> Any:
    for option in (click.option("--id", "subscriber_id", type=int, help="Subscriber number."),
                   click.option("--external-id", help="The company's customer number."),
                   click.option("--phone", help="A mobile number, as typed."),
                   click.option("--email", help="An email address."),
                   click.option("--telegram", help="A Telegram chat id.")):
        fn = option(fn)
    return fn


@subscribers.command("export", help="Print everything held about a person as JSON (GDPR access).")
@_person_options
@fails_clearly
@acts_as("admin")
def subscribers_export(**who: Any) -> None:
    import json

    from .. import audit, privacy
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        ids = privacy.find(s, **who)
        data = [privacy.export(s, i) for i in ids]
        for i in ids:
            audit.record(s, "subscriber.export", f"subscriber:{i}")
    click.echo(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2))


@subscribers.command("erase", help="Erase a person (GDPR): delete them, their addresses, what "
                     "they received and wrote; per-notice totals stay.")
@_person_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@fails_clearly
@acts_as("admin")
def subscribers_erase(yes: bool, **who: Any) -> None:
    from .. import db as database
    from .. import privacy

    a = app()
    with a.app_context():
        ids = privacy.find(database.session(), **who)
        if not yes:
            click.confirm(f"Erase subscriber{'s' if len(ids) > 1 else ''} "
                          f"{', '.join(f'#{i}' for i in ids)}? This cannot be undone", abort=True)
        for i in ids:
            with database.transaction() as s:
                done = privacy.erase(s, i)
            click.echo(f"subscriber #{i} erased: {done.subscriptions} subscriptions, "
                       f"{done.deliveries} deliveries, {done.messages} messages, {done.signups} "
                       f"sign-ups deleted; totals of {done.notices_frozen} notices kept")
        privacy.compact()


@subscribers.command("prune", help="Delete delivery details, inbox messages and sign-ups older "
                     "than NOTIFIER_RETENTION_DAYS now (workers also do it hourly).")
@click.option("--days", type=click.IntRange(min=1), help="Another retention period, this once.")
@fails_clearly
@acts_as("admin")
def subscribers_prune(days: int | None) -> None:
    from .. import retention

    with app().app_context():
        done = retention.prune(days)
    click.echo(f"pruned {done.deliveries} deliveries of {done.notices} notices (totals kept), "
               f"{done.messages} inbox messages, {done.signups} sign-ups")
