"""The message library: import, check, export, show, approve, reject."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .base import app, fails_clearly


@click.group(help="The message library.")
def templates() -> None:
    """Group template commands."""


@templates.command("import", help="Load template files as drafts (unchanged content keeps its approval).")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@fails_clearly
def templates_import(folder: Path) -> None:
    from .. import audit, versions
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        report = versions.import_dir(s, folder, audit.actor())
    for key in report.created:
        click.echo(f"draft    {key}")
    for key in report.unchanged:
        click.echo(f"same     {key}")


@templates.command("check", help="Validate template files without importing them.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@fails_clearly
def templates_check(folder: Path) -> None:
    from .. import library

    specs = library.load_dir(folder)
    click.echo(f"{len(specs)} templates are valid")


@templates.command("export", help="Write the approved templates as files.")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@fails_clearly
def templates_export(folder: Path) -> None:
    from .. import db as database
    from .. import versions

    with app().app_context(), database.transaction() as s:
        for path in versions.export_dir(s, folder):
            click.echo(str(path))


@templates.command("list", help="List templates: state, author and approver of every version.")
@fails_clearly
def templates_list() -> None:
    from sqlalchemy import select

    from .. import db as database
    from .. import versions
    from ..models import Template

    with app().app_context(), database.transaction() as s:
        for template in s.scalars(select(Template).order_by(Template.key)):
            steps = versions.history(s, template.key)
            for v in reversed(template.versions):
                decided = [st for st in steps.get(v.number, [])
                           if st.action in ("approve", "reject")]
                by = (f"{decided[-1].action.rstrip('e')}ed by {decided[-1].who}"
                      if decided else "")
                click.echo(f"{template.key:24} v{v.number:<3} {v.state:9} by {v.author:32} {by}")


@templates.command("show", help="Show a template's fields: what to give with --var.")
@click.argument("key")
@fails_clearly
def templates_show(key: str) -> None:
    from .. import db as database
    from .. import dispatch, library

    with app().app_context(), database.transaction() as s:
        spec = library.parse_spec(dispatch.approved_version(s, key).content)
        click.echo(f"{spec.key}: {spec.title['en']} / {spec.title['sv']} ({spec.kind})")
        for v in spec.variables:
            need = "required" if v.required else "optional"
            click.echo(f"  --var {v.name}=...  {v.label['en']} ({need}): takes {variable_help(s, v)}")


@templates.command("approve", help="Approve a draft as the operating-system user (four-eyes).")
@click.argument("key")
@click.option("--version", "number", type=int, default=None, help="Version (default: the draft)")
@click.option("--comment", default="", help="A note for the audit log")
@fails_clearly
def templates_approve(key: str, number: int | None, comment: str) -> None:
    _review(key, number, comment, approve=True)


@templates.command("reject", help="Reject a draft with a comment saying what must change.")
@click.argument("key")
@click.option("--version", "number", type=int, default=None, help="Version (default: the draft)")
@click.option("--comment", required=True, help="What the author must change")
@fails_clearly
def templates_reject(key: str, number: int | None, comment: str) -> None:
    _review(key, number, comment, approve=False)


def _review(key: str, number: int | None, comment: str, *, approve: bool) -> None:
    """Approve or reject a version as the operating-system user, and say so."""
    from .. import audit, versions
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        version = versions.find(s, key, number)
        (versions.approve if approve else versions.reject)(s, version, audit.actor(), comment)
        done = "approved" if approve else "rejected"
        click.echo(f"{done} {key} v{version.number} as {audit.actor()}")


def variable_help(s: Any, variable: Any) -> str:
    """Say what a variable takes, in --var terms."""
    from .. import contacts

    if variable.type == "contacts":
        keys = [f"{c.key} ({c.label_en})" for c in contacts.all_contacts(s) if c.state == "up"]
        return "comma-separated keys of working contact channels: " + ", ".join(keys)
    if variable.type == "choice":
        return "one of " + ", ".join(f"{o.value} ({o.label['en']})" for o in variable.options)
    return {"time": "HH:MM", "datetime": "YYYY-MM-DD HH:MM (Swedish time)",
            "phone": "a phone number, e.g. 08-123 45 67", "url": "an https:// address",
            "email": "an email address"}.get(variable.type, f"text (at most {variable.max_length})")
