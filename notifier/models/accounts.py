"""Console accounts and the audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import aware, utcnow
from .base import Base


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The console language the person chose (sv | en); None: follow the browser.
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped by logout, a new password, a reset second factor and "sign out everywhere":
    # a session cookie names the version it was made for, so older cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    totp_secret: Mapped[str | None] = mapped_column(String(255))  # encrypted (twofactor.py)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recovery_codes: Mapped[list[Any] | None] = mapped_column()  # keyed hashes, used ones removed
    expires_at: Mapped[datetime | None] = mapped_column()  # break-glass accounts end by themselves

    # What Flask-Login asks of a user object.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Tell whether the account may sign in: enabled, and not past its end."""
        return bool(self.active) and (self.expires_at is None or aware(self.expires_at) > utcnow())

    def get_id(self) -> str:
        """Name the account and its session version, so older sessions no longer load."""
        return f"{self.id}:{self.session_version}"


class RolePolicy(Base):
    """Whether a console role must sign in with a second factor (absent: the default)."""

    __tablename__ = "role_policy"
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    totp_required: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
