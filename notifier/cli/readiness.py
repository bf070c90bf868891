"""`notifier readiness`: would the plan work today? Exit 0 when ready, 1 otherwise."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import app, fails_clearly


@click.command(help="Check whether the plan would work today: delivery channels, templates, "
                    "contact channels, subscribers, the last drill. Exit 0 when ready, 1 if not.")
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report as a printable HTML file")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON")
@fails_clearly
def readiness(html: Path | None, as_json: bool) -> None:
    import json

    from flask import render_template
    from flask_babel import force_locale

    from .. import db as database
    from .. import readiness as checks

    a = app()
    with a.app_context(), a.test_request_context(), force_locale("en"):
        with database.transaction() as s:
            report = checks.report(s)
        if as_json:
            click.echo(json.dumps(checks.as_dict(report), ensure_ascii=False, indent=1))
        else:
            for c in report.checks:
                line = f"{'ready' if c.ok else 'GAP  '}  {c.area:11} {c.name:24} {c.detail}"
                click.echo(line + (f"\n       -> {c.action}" if c.action else ""))
            click.echo(f"\n{'READY' if report.ready else f'NOT READY: {len(report.gaps())} gaps'}")
        if html is not None:
            html.write_text(render_template("readiness_export.html", report=report,
                                            organisation=a.config["ORGANISATION"]),
                            encoding="utf-8")
    sys.exit(0 if report.ready else 1)
