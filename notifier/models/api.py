"""What the API and the monitoring webhook keep: personal API tokens, alerts and their drafts."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


class ApiToken(Base):
    """A bearer token that acts as one account; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists, so a leaked token is recognised
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Alert(Base):
    """One monitoring alert, de-duplicated by its source's fingerprint, and the draft it opened."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("source", "fingerprint"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # alertmanager | generic
    fingerprint: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    rule: Mapped[str] = mapped_column(String(64))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    times_seen: Mapped[int] = mapped_column(default=1)


class Proposal(Base):
    """What a draft incident suggests: contact-channel states and a notice, awaiting one click."""

    __tablename__ = "proposal"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # open (a first notice) | all_clear
    template_key: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_states: Mapped[dict[str, Any]] = mapped_column(default=dict)  # key -> up | down
    segments: Mapped[list[Any]] = mapped_column(default=list)
    channels: Mapped[list[Any] | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | sent | dismissed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(200))
    notice_id: Mapped[int | None] = mapped_column()
