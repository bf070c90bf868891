"""What customers do on their own: sign-ups waiting for confirmation, and what they write to us."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


class Signup(Base):
    """A sign-up from the public page, waiting for its addresses to be confirmed (double opt-in).

    Tokens and the SMS code are kept only as HMACs: a copy of the database cannot confirm anyone.
    """

    __tablename__ = "signup"
    id: Mapped[int] = mapped_column(primary_key=True)
    page_token: Mapped[str] = mapped_column(String(64), unique=True)
    email_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(2), default="sv")
    segments: Mapped[list[Any]] = mapped_column(default=list)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    phone_confirmed_at: Mapped[datetime | None] = mapped_column()
    email_confirmed_at: Mapped[datetime | None] = mapped_column()
    telegram_confirmed_at: Mapped[datetime | None] = mapped_column()
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class InboxMessage(Base):
    """Something a customer wrote by SMS or Telegram that was not a keyword: for a person to read."""

    __tablename__ = "inbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(2000))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handled_at: Mapped[datetime | None] = mapped_column()
    handled_by: Mapped[str | None] = mapped_column(String(200))
