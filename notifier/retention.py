"""Retention: delivery details, inbox messages and old sign-ups live NOTIFIER_RETENTION_DAYS.

Per-notice totals are frozen before a notice's deliveries go, so reports keep their numbers.
Notices still sending are never pruned. Provider event ids (`webhook_event`) stay: they are
what makes a replayed webhook harmless, and they hold no personal data.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from redis import Redis
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from . import audit, db, totals
from .clock import utcnow
from .models import OPEN_STATUSES, Delivery, InboxMessage, Notice, Signup

log = logging.getLogger(__name__)
BATCH = 20        # notices per transaction: short write locks while the engine is sending
LOCK = "notifier:retention"
EVERY = 3600      # seconds between automatic runs


@dataclass
class Pruned:
    """What one run deleted."""

    notices: int = 0
    deliveries: int = 0
    messages: int = 0
    signups: int = 0


def _due_notices(s: Session, cutoff: datetime) -> list[int]:
    open_ = select(Delivery.notice_id).where(Delivery.status.in_([st.value for st in OPEN_STATUSES]))
    return list(s.scalars(select(Notice.id).where(
        Notice.created_at < cutoff, Notice.id.in_(select(Delivery.notice_id).distinct()),
        Notice.id.not_in(open_)).order_by(Notice.id).limit(BATCH)))


def prune(days: int | None = None, now: datetime | None = None) -> Pruned:
    """Delete what is older than the retention period, in short transactions."""
    now = now or utcnow()
    cutoff = now - timedelta(days=days or current_app.config["RETENTION_DAYS"])
    done = Pruned()
    while True:
        with db.transaction() as s:
            ids = _due_notices(s, cutoff)
            if not ids:
                break
            totals.freeze(s, ids)
            done.deliveries += db.rowcount(s.execute(delete(Delivery).where(
                Delivery.notice_id.in_(ids))))
            done.notices += len(ids)
    with db.transaction() as s:
        done.messages = db.rowcount(s.execute(delete(InboxMessage).where(
            InboxMessage.received_at < cutoff)))
        done.signups = db.rowcount(s.execute(delete(Signup).where(
            or_(Signup.expires_at < now, Signup.created_at < cutoff))))
        if done.notices or done.messages or done.signups:
            audit.record(s, "retention.prune", "", who="system:retention",
                         days=(now - cutoff).days, **vars(done))
    return done


def prune_if_due(redis: Redis) -> Pruned | None:
    """Prune at most once an hour across all workers (a Redis key says when it last ran)."""
    if not redis.set(LOCK, "1", nx=True, ex=EVERY):
        return None
    done = prune()
    if done.notices or done.messages or done.signups:
        log.info("retention: %s", done)
    return done
