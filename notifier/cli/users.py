"""Console accounts (an admin's commands), and break-glass for the server's operator."""
from __future__ import annotations

import click

from ..errors import NotifierError
from .base import acts_as, app, fails_clearly, sign_in

ROLES = ["viewer", "operator", "editor", "approver", "admin"]


@click.group(help="Console accounts (needs an admin account: --as EMAIL).")
def users() -> None:
    """Group account commands."""


@users.command("create", help="Create an account; asks for its password. The very first "
               "admin of a deployment needs no --as.")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--as", "as_email", default=None, metavar="EMAIL",
              help="The admin account this command acts as [default: NOTIFIER_AS]")
@click.option("--new-password", "password", prompt="Password of the new account",
              hide_input=True, confirmation_prompt=True, help="Asked when not given")
@fails_clearly
def users_create(email: str, role: str, as_email: str | None, password: str) -> None:
    from .. import accounts, audit
    from .. import db as database

    a = app()
    with a.app_context():
        bootstrap = role == "admin" and not accounts.any_admin(database.session())
    if not bootstrap:
        user = sign_in(as_email, "admin")
        click.get_current_context().meta["notifier.user"] = user
    with a.app_context(), database.transaction() as s:
        accounts.create_user(s, email, role, password)
        if bootstrap:
            audit.record(s, "user.bootstrap", f"user:{email}",
                         who=f"{audit.actor()} (no admin account yet)")
    click.echo(f"created {role} {email}" + (" (the first admin)" if bootstrap else ""))


@users.command("list", help="List accounts with their role and second factor.")
@fails_clearly
@acts_as("admin")
def users_list() -> None:
    from sqlalchemy import select

    from .. import db as database
    from ..models import User

    with app().app_context(), database.transaction() as s:
        for user in s.scalars(select(User).order_by(User.role, User.email)):
            state = "active" if user.is_active else "disabled"
            factor = "2fa" if user.totp_enabled else "no-2fa"
            click.echo(f"{user.email:36} {user.role:9} {state:9} {factor}")


@users.command("password", help="Set a new password for an account (its sessions end).")
@click.argument("email")
@click.option("--new-password", "password", prompt="New password", hide_input=True,
              confirmation_prompt=True, help="Asked when not given")
@fails_clearly
@acts_as("admin")
def users_password(email: str, password: str) -> None:
    from .. import accounts
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        accounts.set_password(s, email, password)
    click.echo(f"new password set for {email}")


@users.command("reset-2fa", help="Remove an account's second factor (they enrol again).")
@click.argument("email")
@fails_clearly
@acts_as("admin")
def users_reset_2fa(email: str) -> None:
    from .. import accounts, audit, twofactor
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        twofactor.reset(s, accounts.find(s, email), audit.actor())
    click.echo(f"second factor of {email} removed; their sessions have ended")


@click.command("break-glass", help="For the server's operator when signing in fails: create one "
               "admin account that ends by itself (no second factor), print its password once, "
               "and email every other admin. Audited.")
@click.argument("email")
@click.option("--hours", type=float, default=4, show_default=True,
              help="How long the account works (at most 24)")
@fails_clearly
def break_glass(email: str, hours: float) -> None:
    from .. import breakglass, clock
    from .. import db as database

    a = app()
    with a.app_context(), database.transaction() as s:
        made = breakglass.create(s, email, hours, breakglass.operator())
    click.echo(f"break-glass admin {made.email}, until {clock.local(made.expires_at)} "
               "(Swedish time)")
    click.echo(f"password (shown only now): {made.password}")
    missed = breakglass.notify(made, a.config["PROVIDERS"]["sendgrid"], a.config["PUBLIC_URL"])
    told = [e for e in made.admins if e not in missed]
    click.echo(f"told by email: {', '.join(told) or 'nobody (no other admin)'}")
    if missed:
        raise NotifierError(f"could not email {', '.join(missed)}: tell them another way "
                            "(the account works all the same).")
