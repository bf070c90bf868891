"""Incidents, notices, their deliveries, and what providers and the banner recorded."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import retry
from ..clock import utcnow
from .base import Base, DeliveryStatus


class Incident(Base):
    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="open")
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column()
    notices: Mapped[list[Notice]] = relationship(back_populates="incident", order_by="Notice.id")


class Notice(Base):
    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    template_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    values: Mapped[dict[str, Any]] = mapped_column()
    rendered: Mapped[dict[str, Any]] = mapped_column()
    channels: Mapped[list[Any]] = mapped_column()
    segments: Mapped[list[Any]] = mapped_column(default=list)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="sending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    banner_published_at: Mapped[datetime | None] = mapped_column()
    scheduled_at: Mapped[datetime | None] = mapped_column(index=True)
    fallback: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Transient failures are retried until the deadline: minutes after the notice starts.
    deadline_minutes: Mapped[int] = mapped_column(Integer, default=retry.DEFAULT_DEADLINE,
                                                  server_default=str(retry.DEFAULT_DEADLINE))
    deadline_at: Mapped[datetime | None] = mapped_column()
    # Planned range by range (notifier/planner.py): the last subscription id planned, and when.
    planning: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    planned_through: Mapped[int | None] = mapped_column(Integer)
    planned_at: Mapped[datetime | None] = mapped_column()
    incident: Mapped[Incident] = relationship(back_populates="notices")

    def deadline(self) -> datetime:
        """Return when deliveries still failing are given up on."""
        if self.deadline_at is not None:
            return self.deadline_at
        return retry.deadline(self.scheduled_at or self.created_at, self.deadline_minutes)


class Delivery(Base):
    """One notice to one address on one delivery channel."""

    __tablename__ = "delivery"
    # Planning inserts up to a million rows at once: every foreign key is a per-row check, so only
    # notice_id has one. subscription_id and fallback_of are plain references, kept right by
    # the code that deletes subscriptions (audience._replace_subscriptions).
    __table_args__ = (UniqueConstraint("notice_id", "channel", "address"),
                      Index("ix_delivery_status_channel", "status", "channel"),
                      Index("ix_delivery_provider_id", "provider_id",
                            postgresql_where=text("provider_id IS NOT NULL"),
                            sqlite_where=text("provider_id IS NOT NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    subscription_id: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    first_failed_at: Mapped[datetime | None] = mapped_column()  # start of a run of transient failures
    lease_until: Mapped[datetime | None] = mapped_column()
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    fallback_of: Mapped[int | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column()


class WebhookEvent(Base):
    """A provider callback already processed: replays and retries are recognised and ignored."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class BannerSnapshot(Base):
    """The current public banner document, precomputed as bytes."""

    __tablename__ = "banner_snapshot"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    etag: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
