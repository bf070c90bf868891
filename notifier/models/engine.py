"""What the engine keeps beside the deliveries: per-notice totals and confirmations already made."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from .base import Base


class NoticeTotal(Base):
    """One notice on one delivery channel, counted: what reports read once details are pruned."""

    __tablename__ = "notice_total"
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"),
                                           primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)    # status -> deliveries
    failures: Mapped[dict[str, Any]] = mapped_column(default=dict)  # "code: reason" -> deliveries
    first_sent_at: Mapped[datetime | None] = mapped_column()
    half_at: Mapped[datetime | None] = mapped_column()     # 50 % of the reachable sent
    most_at: Mapped[datetime | None] = mapped_column()     # 90 %
    all_at: Mapped[datetime | None] = mapped_column()      # 100 %
    # Set once delivery details were pruned or erased: the totals are final from then on.
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    """A confirmation already carried out: the same key again returns its notices instead of new ones."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # console | cli | api
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))  # what was asked for under the key
    notice_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)  # how often the key was presented
