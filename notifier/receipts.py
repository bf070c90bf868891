"""Provider receipts and customers' own actions: delivered / undelivered, opted out, bounced.

Every change is one UPDATE naming the states it leaves, and every provider event is recorded
in `webhook_event` in the same transaction, so a replayed or retried callback changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import db, deliveries
from .deliveries import Receipt
from .models import Delivery, DeliveryStatus, Notice, Subscriber, Subscription, WebhookEvent, utcnow

__all__ = ["Receipt", "apply_receipt", "find", "language_of", "mark_address", "once"]

T = TypeVar("T")

# What a subscription may still become: opted out is the customer's word and overrides a bounce;
# a bounce never overrides an opt-out.
LEAVES = {"opted_out": ("active", "bounced"), "bounced": ("active",)}


def once(provider: str, event_id: str, apply: Callable[[Session], T]) -> T | None:
    """Apply an event unless it was already applied; None for a duplicate."""
    try:
        with db.transaction() as s:
            s.execute(insert(WebhookEvent).values(provider=provider, event_id=event_id[:128]))
            return apply(s)
    except IntegrityError:
        return None


def apply_receipt(s: Session, r: Receipt) -> int | None:
    """Move the matching delivery forward; return its id, or None when nothing moved.

    An undelivered message goes by the notice's fallback channel, if it has one (queued in the
    same transaction, enqueued once it commits).
    """
    moved = deliveries.receive(s, r)
    if moved is not None and r.status is DeliveryStatus.UNDELIVERED:
        _fall_back(s, moved)
    return moved


def _fall_back(s: Session, delivery_id: int) -> None:
    from . import enqueueing

    d = s.get(Delivery, delivery_id)
    notice = s.get(Notice, d.notice_id) if d is not None else None
    if d is None or notice is None:
        return
    new = deliveries.fall_back(s, notice, d.channel, [d.id])
    target = (notice.fallback or {}).get(d.channel)
    if new and target:
        db.after_commit(s, lambda: enqueueing.enqueue_ids(notice.id, target, new))


def find(s: Session, r: Receipt) -> tuple[str, str] | None:
    """Return (delivery channel, address) of the delivery a receipt is about, in any state."""
    row = s.execute(select(Delivery.channel, Delivery.address)
                    .where(deliveries.matching(r)).limit(1)).first()
    return None if row is None else (str(row[0]), str(row[1]))


def mark_address(s: Session, channel: str, address: str, status: str) -> int:
    """Mark every subscription of an address on a delivery channel opted out or bounced."""
    same = func.lower(Subscription.address) == address.lower() if channel == "email" \
        else Subscription.address == address
    result = s.execute(update(Subscription).where(
        Subscription.channel == channel, same, Subscription.status.in_(LEAVES[status]))
        .values(status=status, updated_at=utcnow()))
    return db.rowcount(result)


def language_of(s: Session, channel: str, address: str, default: str = "sv") -> str:
    """Return the language of the (first) subscriber of an address, or the default."""
    lang = s.scalar(select(Subscriber.language).join(Subscription)
                    .where(Subscription.channel == channel, Subscription.address == address)
                    .order_by(Subscription.id).limit(1))
    return str(lang) if lang else default
