"""Personal API tokens: each acts as one account with its role, is stored hashed, and can be revoked.

A token is shown once when it is created (`ntf_` and 43 random characters); the database keeps
only its SHA-256 digest, so a copy of the database lets nobody call the API. A token that is
random and this long needs no slow hash: guessing is hopeless, and a fast digest keeps every API
call cheap. The first characters are kept in clear as the token's prefix, so a leaked token can
be recognised in the list and revoked.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import accounts, audit
from .clock import utcnow
from .errors import NotifierError
from .models import ApiToken, User

PREFIX = "ntf_"
SHOWN = 12                       # characters kept in clear (the prefix and 8 random ones)
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often (no write per call)
MAX_NAME = 120


class TokenError(NotifierError):
    """A token is unknown, revoked, or cannot be created as asked."""


@dataclass(frozen=True)
class NewToken:
    """A token just created: the secret is in `secret` and nowhere else."""

    token: ApiToken
    secret: str


def digest(secret: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(s: Session, email: str) -> User:
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        raise TokenError(f"No active account {email}. `notifier users list` shows the accounts.")
    return user


def create(s: Session, email: str, name: str, who: str | None = None) -> NewToken:
    """Create a token for an account; return it with its secret (shown only this once)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise TokenError(f"Give the token a name of 1 to {MAX_NAME} characters that says where it "
                         "is used (e.g. --name monitoring), so it can be found and revoked later.")
    user = _user(s, email)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:SHOWN], digest=digest(secret))
    s.add(token)
    s.flush()
    audit.record(s, "token.create", f"user:{user.email}", who=who, token=token.id, name=name,
                 prefix=token.prefix)
    return NewToken(token, secret)


def of_user(s: Session, email: str | None = None) -> list[tuple[ApiToken, User]]:
    """List tokens, newest first: one account's, or everyone's."""
    q = select(ApiToken, User).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if email is not None:
        q = q.where(User.email == email.strip().lower())
    return [(t, u) for t, u in s.execute(q)]


def revoke(s: Session, token_id: int, by: User | None = None, who: str | None = None) -> ApiToken:
    """Revoke a token at once; an account may revoke its own, an admin any (None: the CLI)."""
    token = s.get(ApiToken, token_id)
    if token is None or (by is not None and token.user_id != by.id and
                         not accounts.may(by, "admin")):
        raise TokenError(f"No token {token_id} of yours. `notifier tokens list` shows them.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(s, "token.revoke", f"token:{token.id}", who=who, prefix=token.prefix)
    return token


def authenticate(s: Session, secret: str) -> tuple[User, ApiToken]:
    """Return the account a token acts as, or raise TokenError saying what to do."""
    secret = secret.strip()
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise TokenError("That is not a notifier API token: create one with `notifier tokens "
                         "create EMAIL --name NAME` or on the console's API tokens page.")
    wanted = digest(secret)
    token = s.scalar(select(ApiToken).where(ApiToken.digest == wanted))
    # compare_digest: the lookup is by digest, this keeps the final check constant-time too.
    if token is None or not hmac.compare_digest(token.digest, wanted):
        raise TokenError("Unknown API token: it may have been mistyped or revoked. "
                         "Create a new one and use it instead.")
    if token.revoked_at is not None:
        raise TokenError(f"API token {token.prefix}... was revoked: create a new one.")
    user = s.get(User, token.user_id)
    if user is None or not user.active:
        raise TokenError("The account of this API token is disabled: ask an admin.")
    return user, token


def stale(token: ApiToken) -> bool:
    """Tell whether the token's last use is worth writing again (at most once a minute)."""
    return token.last_used_at is None or utcnow() - token.last_used_at > TOUCH_EVERY


def touch(s: Session, token_id: int) -> None:
    """Record that a token was used just now."""
    s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
