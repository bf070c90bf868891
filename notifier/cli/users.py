"""Console accounts."""
from __future__ import annotations

import click

from .base import app, fails_clearly


@click.group(help="Console accounts.")
def users() -> None:
    """Group account commands."""


@users.command("create", help="Create an account; asks for the password.")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["viewer", "operator", "editor",
                                                          "approver", "admin"]))
@click.password_option()
@fails_clearly
def users_create(email: str, role: str, password: str) -> None:
    from .. import accounts
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        accounts.create_user(s, email, role, password)
    click.echo(f"created {role} {email}")


@users.command("list", help="List accounts with their role.")
@fails_clearly
def users_list() -> None:
    from sqlalchemy import select

    from .. import db as database
    from ..models import User

    with app().app_context(), database.transaction() as s:
        for user in s.scalars(select(User).order_by(User.role, User.email)):
            click.echo(f"{user.email:36} {user.role:9} {'active' if user.active else 'disabled'}")


@users.command("password", help="Set a new password for an account (e.g. a lost demo password).")
@click.argument("email")
@click.password_option()
@fails_clearly
def users_password(email: str, password: str) -> None:
    from .. import accounts
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        accounts.set_password(s, email, password)
    click.echo(f"new password set for {email}")
