"""Console accounts: roles and what each may do, creating accounts, passwords."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

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
    audit.record(s, "user.password", f"user:{user.email}")
    return user
