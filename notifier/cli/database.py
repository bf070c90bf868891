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

    database.upgrade(app().config["DATABASE_URL"])
    click.echo("database is up to date")
