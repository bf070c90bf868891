"""What every command shares: the app of one command, the account it acts as, and errors as
one line with exit 2.

The trust model: a command that changes something acts as a named console account (`--as
EMAIL` or NOTIFIER_AS), proven by that account's password (asked, or NOTIFIER_PASSWORD for
scripts) and its second-factor code when it has one (asked, or NOTIFIER_TOTP), and is refused
what the console would refuse that account. The audit log names the account. The one thing
a shell on the server allows without an account is `notifier break-glass`.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import Flask, appcontext_pushed, g

from ..config import cli_credentials
from ..errors import NotifierError

F = TypeVar("F", bound=Callable[..., Any])
_APP = "notifier.app"
_USER = "notifier.user"


def app() -> Flask:
    """Return the app of this command (one per command); its connections close at the end.

    Every app context pushed on it carries the account the command acts as in `g.user`, so
    the audit log and the permission checks see the person, as in the console.
    """
    from .. import create_app

    ctx = click.get_current_context(silent=True)
    if ctx is not None and _APP in ctx.meta:
        made: Flask = ctx.meta[_APP]
        return made
    a = create_app()
    if ctx is not None:
        ctx.meta[_APP] = a
        ctx.call_on_close(lambda: _close(a))
        meta = ctx.meta

        def carry_user(sender: Flask, **_: Any) -> None:
            g.user = meta.get(_USER)

        appcontext_pushed.connect(carry_user, a, weak=False)
    return a


def _close(a: Flask) -> None:
    a.extensions["notifier.engine"].dispose()
    conn = a.extensions.get("notifier.redis")
    if conn is not None:
        conn.close()


def fails_clearly(fn: F) -> F:
    """Turn a NotifierError into a one-line message and exit status 2."""
    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotifierError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    return wrapped  # type: ignore[return-value]


def acts_as(permission: str) -> Callable[[F], F]:
    """Add --as EMAIL to a command and sign that account in before it runs."""
    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapped(*args: Any, as_email: str | None, **kwargs: Any) -> Any:
            ctx = click.get_current_context()
            ctx.meta[_USER] = sign_in(as_email, permission)
            return fn(*args, **kwargs)
        option = click.option("--as", "as_email", default=None, metavar="EMAIL",
                              help="The console account this command acts as "
                                   "[default: NOTIFIER_AS]; asks for its password")
        return option(wrapped)  # type: ignore[return-value]
    return decorator


def sign_in(as_email: str | None, permission: str) -> Any:
    """Check the account's credentials and permission; return it (detached from any session)."""
    from .. import accounts, twofactor
    from .. import db as database

    creds = cli_credentials()
    email = (as_email or creds.as_email).strip().lower()
    if creds.token:
        return _sign_in_with_token(creds.token, email, permission)
    if not email:
        raise NotifierError("This command acts as a console account: add --as EMAIL (or set "
                            "NOTIFIER_AS); it asks for that account's password.")
    a = app()
    with a.app_context(), database.transaction() as s:
        password = creds.password or click.prompt(f"Password of {email}", hide_input=True,
                                                  err=True)
        user = accounts.authenticate(s, email, password)
        if user is None:
            raise NotifierError(f"Wrong email or password for {email}.")
        if user.totp_enabled:
            code = creds.totp or click.prompt(f"Second-factor code of {email}", err=True)
            key = a.config["SECRET_KEY"]
            if not (twofactor.check_code(user, code, key)
                    or twofactor.use_recovery_code(s, user, code, key)):
                raise NotifierError(f"The second-factor code of {email} is not right.")
        elif twofactor.must_enrol(s, user, a.config["SANDBOX"]):
            raise NotifierError(f"{email} is {user.role}, a role that must use a second "
                                "factor: sign in to the console once to set it up.")
        if not accounts.may(user, permission):
            raise NotifierError(f"{email} is {user.role} and may not do this "
                                f"(it needs the {permission} permission).")
        s.flush()  # a used code or recovery code is struck off before the account leaves s
        s.expunge(user)
    return user


def _sign_in_with_token(secret: str, email: str, permission: str) -> Any:
    """Sign in with a personal API token (NOTIFIER_TOKEN): its account, the same permission check."""
    from .. import accounts, tokens
    from .. import db as database

    with app().app_context(), database.transaction() as s:
        try:
            user, _token = tokens.authenticate(s, secret)
        except tokens.TokenError as exc:
            raise NotifierError(f"NOTIFIER_TOKEN: {exc}") from None
        if email and email != user.email:
            raise NotifierError(f"NOTIFIER_TOKEN belongs to {user.email}, not {email}: "
                                "drop --as (or NOTIFIER_AS), or use that account's token.")
        if not accounts.may(user, permission):
            raise NotifierError(f"{user.email} is {user.role} and may not do this "
                                f"(it needs the {permission} permission).")
        s.expunge(user)
    return user
