"""The database: migrations."""
from __future__ import annotations

import click

from .base import app, fails_clearly


@click.group(help="Database commands.")
def db() -> None:
    """Group database commands."""


@db.command("upgrade", help="Apply migrations.")
@fails_clearly
def db_upgrade() -> None:
    from .. import db as database
    from .. import voice

    a = app()
    database.upgrade(a.config["DATABASE_URL"])
    if a.config.get("VOICE_NUMBER"):  # the status line, shown as a contact channel
        with a.app_context(), database.transaction() as s:
            voice.register_contact(s)
    click.echo("database is up to date")
