"""Where deliveries come from and how unsent ones are called off: set-based INSERTs and cancels."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, and_, exists, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from .. import audience
from ..models import Delivery, Notice, Subscription
from .machine import UNSENT, Q, move

COLUMNS = ["notice_id", "channel", "address", "language", "subscription_id", "status"]


def _insert(s: Session) -> Insert:
    """An INSERT that skips a row a concurrent transaction has just added (same notice, channel,
    address): two reroutes racing must not fail a job with a unique violation."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Delivery).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(Delivery).on_conflict_do_nothing()
    return insert(Delivery)


def plan(s: Session, notice: Notice, channels: Sequence[str],
         subscriptions: tuple[int, int]) -> list[tuple[int, str]]:
    """Queue one delivery per (delivery channel, normalised address) of the audience's
    subscriptions with ids in a range; return the new deliveries' (id, channel).

    Planned range by range: an address a subscriber shares with one planned before is skipped
    (the unique key, ON CONFLICT DO NOTHING), so nobody gets two on one channel.
    """
    if not channels:
        return []
    lo, hi = subscriptions
    sel = (audience.selection(channels, notice.segments)
           .where(Subscription.id.between(lo, hi)).subquery())
    # The WHERE is for SQLite: without one, it reads ON CONFLICT as a join's ON.
    source = select(literal(notice.id), sel.c.channel, sel.c.address, sel.c[2], sel.c[3],
                    literal(Q)).where(sel.c.address.is_not(None))
    rows = s.execute(_insert(s).from_select(COLUMNS, source)
                     .returning(Delivery.id, Delivery.channel)).all()
    return [(int(i), str(c)) for i, c in rows]


def add_on_channel(s: Session, notice: Notice, delivery_ids: Any, to_channel: str) -> int:
    """Queue the notice on another delivery channel for the subscribers of these deliveries.

    Only subscribers with an active subscription there get one, and never a second delivery of
    the same notice on one channel (NOT EXISTS, and the unique key with ON CONFLICT DO NOTHING).
    """
    old, target, other = aliased(Subscription), aliased(Subscription), aliased(Delivery)
    already = exists().where(other.notice_id == notice.id, other.channel == to_channel,
                             other.address == target.address)
    # One row per target address, even when two of its subscribers shared the old address.
    source = (select(literal(notice.id), literal(to_channel), target.address,
                     func.min(Delivery.language), func.min(target.id), literal(Q),
                     func.min(Delivery.id))
              .join(old, old.id == Delivery.subscription_id)
              .join(target, and_(target.subscriber_id == old.subscriber_id,
                                 target.channel == to_channel, target.status == "active"))
              .where(Delivery.id.in_(delivery_ids), ~already)
              .group_by(target.address))
    s.execute(_insert(s).from_select([*COLUMNS, "fallback_of"], source))
    created = aliased(Delivery)
    return int(s.scalar(select(func.count()).select_from(created).where(
        created.notice_id == notice.id, created.channel == to_channel,
        created.fallback_of.in_(delivery_ids))) or 0)


def covered(s: Session, delivery_ids: Any, channel: str) -> list[int]:
    """Return which of these deliveries' subscribers have an active subscription on a channel."""
    old, target = aliased(Subscription), aliased(Subscription)
    return list(s.scalars(select(Delivery.id).distinct()
                          .join(old, old.id == Delivery.subscription_id)
                          .join(target, and_(target.subscriber_id == old.subscriber_id,
                                             target.channel == channel,
                                             target.status == "active"))
                          .where(Delivery.id.in_(delivery_ids))))


def cancel_unsent(s: Session, notice_ids: Any, reason: str) -> int:
    """Cancel the deliveries of these notices that have not gone out yet."""
    return move(s, "cancel", Delivery.notice_id.in_(notice_ids), next_attempt_at=None,
                error=reason)


def cancel(s: Session, delivery_ids: Any, reason: str) -> int:
    """Cancel these deliveries if they have not gone out yet."""
    return move(s, "cancel", Delivery.id.in_(delivery_ids), next_attempt_at=None, error=reason)


def unsent_ids(s: Session, notice_id: int, channel: str) -> list[int]:
    """Return the deliveries of a notice on a channel that have not gone out yet."""
    return list(s.scalars(select(Delivery.id).where(
        Delivery.notice_id == notice_id, Delivery.channel == channel,
        Delivery.status.in_(UNSENT)).order_by(Delivery.id)))


def queued_ids(s: Session, notice_id: int, channel: str) -> list[int]:
    """Return the queued deliveries of a notice on a channel, in id order (for jobs)."""
    return list(s.scalars(select(Delivery.id).where(
        Delivery.notice_id == notice_id, Delivery.channel == channel,
        Delivery.status == Q).order_by(Delivery.id)))
