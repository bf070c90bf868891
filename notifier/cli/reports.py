"""The incident report for the continuity review, from the command line."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import app, fails_clearly


@click.command(help="Write the report of an incident (a drill's report says it was a drill): "
               "what was sent when, by whom, to how many per channel, delivered, failed and "
               "why, and how long reaching 50, 90 and 100 per cent took.")
@click.argument("incident_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["html", "csv"]), default="html",
              show_default=True, help="html: one page to read or print; csv: one row per "
                                      "notice x delivery channel")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write [default: standard output]")
@click.option("--recipients", is_flag=True,
              help="Also write one row per delivery (who, channel, what became of it) to "
                   "FILE-recipients.csv, or incident-N-recipients.csv without --output")
@click.option("--lang", type=click.Choice(["sv", "en"]), default="en", show_default=True,
              help="Language of the report")
@fails_clearly
def report(incident_id: int, fmt: str, output: Path | None, recipients: bool, lang: str) -> None:
    from .. import csvout, reports
    from .. import db as database
    from ..web.incidents import render_report

    a = app()
    with a.test_request_context(f"/?lang={lang}"):
        with database.transaction() as s:  # recounting the totals writes
            built = reports.build(s, incident_id)
        text = (render_report(built, standalone=True) if fmt == "html"
                else csvout.rows_to_text(reports.header(), reports.rows(built)))
        _write(text, output)
        if recipients:
            target = (output.with_name(f"{output.stem}-recipients.csv") if output
                      else Path(f"incident-{incident_id}-recipients.csv"))
            target.write_text(csvout.rows_to_text(reports.recipients_header(),
                                                  reports.recipients(database.session(),
                                                                     incident_id)),
                              encoding="utf-8")
            click.echo(f"recipients written to {target}", err=output is None)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"report written to {output}")
