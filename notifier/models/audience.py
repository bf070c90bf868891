"""Who notices go to (subscribers, subscriptions, segments) and the company's contact channels."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


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
    # What it needs to work (the operator or platform behind it): plan B must not share it.
    depends_on: Mapped[list[Any]] = mapped_column(default=list)
    verified_at: Mapped[datetime | None] = mapped_column()  # when someone last checked it works


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


# What a subscription can be: only `active` ones are sent to. `opted_out` is the customer's word
# (STOP, an unsubscribe link, /stop), `bounced` the provider's (the address does not work),
# `blocked` a Telegram user who blocked the bot (that chat only, nothing else).
SUBSCRIPTION_STATES = ("active", "opted_out", "bounced", "blocked")
# Where a subscription's consent came from.
CONSENT_SOURCES = ("import", "subscribe_page", "telegram_bot", "sms_keyword", "console")


class Subscription(Base):
    """One subscriber's address on one delivery channel, with its consent and state."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("subscriber_id", "channel", "address"),
                      Index("ix_subscription_channel_status", "channel", "status"),
                      Index("ix_subscription_channel_address", "channel", "address"))
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    consent_source: Mapped[str] = mapped_column(String(32), default="import")
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
