"""Typed SQLAlchemy models: the record of truth."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .clock import aware, utcnow

__all__ = ["aware", "utcnow"]  # re-exported: most modules take them from here

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # SQLAlchemy reads it as a class attribute
    type_annotation_map = {  # noqa: RUF012
        datetime: DateTime(timezone=True), dict[str, Any]: JSON, list[Any]: JSON}


class Role(str, enum.Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"


class DeliveryStatus(str, enum.Enum):
    """The one delivery state machine (docs/architecture.md)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    RETRY_WAIT = "retry_wait"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


OPEN_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.RETRY_WAIT)
CHANNELS = ("sms", "email", "telegram")
DELIVERY_CHANNELS = CHANNELS + ("banner",)
LANGUAGES = ("sv", "en")


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
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


class ContactChannel(Base):
    """One of the company's own ways to be reached (not a delivery channel)."""

    __tablename__ = "contact_channel"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    label_sv: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(8), default="up")
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Template(Base):
    __tablename__ = "template"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.number")


class TemplateVersion(Base):
    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    content: Mapped[dict[str, Any]] = mapped_column()
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[Template] = relationship(back_populates="versions")


class Segment(Base):
    __tablename__ = "segment"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)


class Subscriber(Base):
    __tablename__ = "subscriber"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(2), default="sv")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriberSegment(Base):
    __tablename__ = "subscriber_segment"
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"),
                                               primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class Subscription(Base):
    """One subscriber's address on one delivery channel."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("subscriber_id", "channel", "address"),
                      Index("ix_subscription_channel_status", "channel", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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
    incident: Mapped[Incident] = relationship(back_populates="notices")


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
