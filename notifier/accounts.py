"""Console accounts: roles and what each may do, creating accounts, passwords."""
from __future__ import annotations

import functools

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .errors import NotifierError
from .models import Role, User

# What each role may do; admin may do everything.
PERMISSIONS: dict[str, set[Role]] = {
    "view": set(Role),
    "send": {Role.OPERATOR, Role.ADMIN},
    "contacts": {Role.OPERATOR, Role.ADMIN},
    "edit": {Role.EDITOR, Role.ADMIN},
    "approve": {Role.APPROVER, Role.ADMIN},
    "admin": {Role.ADMIN},
}


class AccountError(NotifierError):
    """An account could not be created or changed."""


def may(user: User | None, permission: str) -> bool:
    """Tell whether a user holds a permission."""
    return user is not None and Role(user.role) in PERMISSIONS[permission]


def create_user(s: Session, email: str, role: str, password: str, name: str = "") -> User:
    """Add an account; the password is stored only as a salted hash."""
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise AccountError(f"Unknown role {role!r}: use one of {', '.join(r.value for r in Role)}.")
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address.")
    if len(password) < 10:
        raise AccountError("The password must be at least 10 characters long.")
    if s.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"An account for {email} exists already.")
    user = User(email=email, role=role, name=name or email.split("@")[0],
                password_hash=generate_password_hash(password))
    s.add(user)
    audit.record(s, "user.create", f"user:{email}", role=role)
    return user


def set_password(s: Session, email: str, password: str) -> User:
    """Give an account a new password (stored only as a salted hash)."""
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"No account for {email}. `notifier users list` shows the accounts.")
    if len(password) < 10:
        raise AccountError("The password must be at least 10 characters long.")
    user.password_hash = generate_password_hash(password)
    user.session_version += 1  # a stolen session cookie stops working with the old password
    audit.record(s, "user.password", f"user:{user.email}")
    return user


@functools.lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return generate_password_hash("no account has this password")


def authenticate(s: Session, email: str, password: str) -> User | None:
    """Return the active account with this email and password, else None.

    An unknown email costs the same password hash as a known one, so the time of the
    answer does not tell which accounts exist.
    """
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None else _decoy_hash()
    if not check_password_hash(stored, password) or user is None or not user.is_active:
        return None
    return user


def any_admin(s: Session) -> bool:
    """Tell whether the deployment has an active admin account (break-glass ones aside)."""
    found = s.scalars(select(User).where(User.role == Role.ADMIN.value, User.active,
                                         User.expires_at.is_(None)))
    return any(True for _ in found)


def exists(s: Session, email: str) -> bool:
    """Tell whether an account has this email."""
    return s.scalar(select(User.id).where(User.email == email.strip().lower())) is not None


def find(s: Session, email: str) -> User:
    """Return the account with this email or say how to find the right one."""
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"No account for {email}. `notifier users list` shows the accounts.")
    return user


def sign_out_everywhere(s: Session, user: User, who: str) -> None:
    """End every session of an account (a copied cookie included)."""
    user.session_version += 1
    audit.record(s, "user.sign_out_everywhere", f"user:{user.email}", who=who)


def disable(s: Session, user: User, who: str) -> None:
    """Disable an account; its sessions end at once."""
    user.active = False
    user.session_version += 1
    audit.record(s, "user.disable", f"user:{user.email}", who=who)
