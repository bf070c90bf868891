"""Account administration from the console: invite, role, deactivate, password links, language.

An invitation or a password reset is a link the admin passes on: a signed token naming the
account and a fingerprint of its current password hash, so it works once (setting a password
changes the hash) and expires after LINK_DAYS. No email is sent and no password is ever shown.
"""
from __future__ import annotations

import hashlib
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import accounts, audit
from .errors import NotifierError
from .i18n import LANGUAGES
from .i18n import gettext as _
from .models import Role, User

LINK_DAYS = 3
SALT = "notifier.password-link"


class AdministrationError(NotifierError):
    """An account cannot be changed as asked."""


def _user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise AdministrationError(_("No account %(id)s: reload the list of accounts.", id=user_id))
    return user


def set_language(s: Session, user_id: int, language: str) -> None:
    """Remember the console language a person chose on their account."""
    if language not in LANGUAGES:
        raise AdministrationError(_("Unknown language %(lang)s: choose sv or en.", lang=language))
    _user(s, user_id).language = language


def _unusable() -> str:
    """Return a password hash no password matches (werkzeug hashes never start with '!')."""
    return "!" + secrets.token_hex(16)


def invite(s: Session, email: str, role: str, name: str = "") -> User:
    """Create an account without a password; its owner sets one through the invitation link."""
    user = accounts.create_user(s, email, role, secrets.token_urlsafe(24), name)
    user.password_hash = _unusable()
    s.flush()
    audit.record(s, "user.invite", f"user:{user.email}", role=role)
    return user


def _admins(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.active.is_(True))) or 0)


def _keep_an_admin(s: Session, user: User) -> None:
    if user.role == Role.ADMIN.value and user.active and _admins(s) <= 1:
        raise AdministrationError(_("%(email)s is the last active admin: make someone else "
                                    "admin first.", email=user.email))


def set_role(s: Session, user_id: int, role: str) -> User:
    """Give an account another role."""
    user = _user(s, user_id)
    if role not in {r.value for r in Role}:
        raise AdministrationError(_("Unknown role %(role)s: use one of %(roles)s.", role=role,
                                    roles=", ".join(r.value for r in Role)))
    if role == user.role:
        return user
    if role != Role.ADMIN.value:
        _keep_an_admin(s, user)
    audit.record(s, "user.role", f"user:{user.email}", role=role, old=user.role)
    user.role = role
    return user


def set_active(s: Session, user_id: int, active: bool, acting: User | None = None) -> User:
    """Deactivate an account (it can no longer log in) or reactivate it."""
    user = _user(s, user_id)
    if user.active == active:
        return user
    if not active:
        if acting is not None and acting.id == user.id:
            raise AdministrationError(_("You cannot deactivate your own account: ask another "
                                            "admin."))
        _keep_an_admin(s, user)
    user.active = active
    audit.record(s, "user.reactivate" if active else "user.deactivate", f"user:{user.email}")
    return user


def reset_password(s: Session, user_id: int) -> User:
    """Make the account's password stop working; its owner sets a new one through a link."""
    user = _user(s, user_id)
    user.password_hash = _unusable()
    audit.record(s, "user.reset", f"user:{user.email}")
    return user


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def link_token(secret_key: str, user: User) -> str:
    """Return the token of a one-time link that lets the account's owner set a password."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
    return str(serializer.dumps({"u": user.id, "p": _fingerprint(user)}))


def user_of(s: Session, secret_key: str, token: str) -> User:
    """Return the account a password link is for, or say why the link does not work."""
    serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
    try:
        data = serializer.loads(token, max_age=LINK_DAYS * 86400)
    except SignatureExpired:
        raise AdministrationError(_("This link has expired: ask an admin for a new one.")
                                  ) from None
    except BadSignature:
        raise AdministrationError(_("This link is not valid: copy the whole link, or ask an "
                                    "admin for a new one.")) from None
    user = s.get(User, int(data.get("u", 0)))
    if user is None or not user.active or data.get("p") != _fingerprint(user):
        raise AdministrationError(_("This link was used already or replaced: ask an admin "
                                    "for a new one."))
    return user


def set_password(s: Session, secret_key: str, token: str, password: str) -> User:
    """Set an account's password through its link (which then stops working)."""
    user = user_of(s, secret_key, token)
    return accounts.set_password(s, user.email, password)
