"""Personal API tokens: create (shown once), list, revoke."""
from __future__ import annotations

import click

from .base import app, fails_clearly


@click.group(help="Personal API tokens: each acts as one account, with its role.")
def tokens() -> None:
    """Group token commands."""


@tokens.command("create", help="Create an API token for an account; it is shown only once.")
@click.argument("email")
@click.option("--name", required=True, help="Where the token is used (e.g. monitoring)")
@fails_clearly
def tokens_create(email: str, name: str) -> None:
    from .. import audit
    from .. import db as database
    from .. import tokens as store

    with app().app_context(), database.transaction() as s:
        new = store.create(s, email, name, who=audit.actor())
        click.echo(f"token {new.token.id} for {email} ({name}); copy it now, it is not shown again:")
        click.echo(new.secret)


@tokens.command("list", help="List API tokens (never their secrets), with their last use.")
@click.option("--email", default=None, help="Only this account's tokens")
@fails_clearly
def tokens_list(email: str | None) -> None:
    from .. import clock
    from .. import db as database
    from .. import tokens as store

    with app().app_context(), database.transaction() as s:
        for token, user in store.of_user(s, email):
            state = f"revoked {clock.local(token.revoked_at)}" if token.revoked_at else "active"
            click.echo(f"{token.id:<5} {token.prefix}...  {user.email:32} {token.name:20} "
                       f"last used {clock.local(token.last_used_at, empty='never')}  {state}")


@tokens.command("revoke", help="Revoke an API token at once.")
@click.argument("token_id", type=int)
@fails_clearly
def tokens_revoke(token_id: int) -> None:
    from .. import audit
    from .. import db as database
    from .. import tokens as store

    with app().app_context(), database.transaction() as s:
        token = store.revoke(s, token_id, who=audit.actor())
        click.echo(f"token {token.id} ({token.prefix}...) is revoked")
