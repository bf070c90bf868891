"""Provider receipts and customers' own actions: delivered / undelivered, opted out, bounced.

Every change is one UPDATE naming the states it leaves, and every provider event is recorded
in `webhook_event` in the same transaction, so a replayed or retried callback changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import db
from .models import Delivery, DeliveryStatus, Subscriber, Subscription, WebhookEvent, utcnow

T = TypeVar("T")

# A receipt may overtake the worker's own record of the send (it is written once per chunk),
# so receipts also leave `sending`; they never leave an end state.
RECEIPT_FROM = (DeliveryStatus.SENDING.value, DeliveryStatus.SENT.value)
# What a subscription may still become: opted out is the customer's word and overrides a bounce
# or a block; a bounce never overrides an opt-out. Blocked: a Telegram user blocked the bot.
LEAVES = {"opted_out": ("active", "bounced", "blocked"), "bounced": ("active",),
          "blocked": ("active",)}


@dataclass(frozen=True)
class Receipt:
    """What a provider says about one message it was given."""

    channel: str
    status: DeliveryStatus  # SENT, DELIVERED or UNDELIVERED
    provider_id: str
    delivery_id: int | None = None
    address: str | None = None  # cross-check for deliveries matched by id
    error_code: str | None = None
    error: str | None = None
    # SendGrid's event ids only share a prefix with what the worker stored: match on id and address.
    check_provider_id: bool = True


def once(provider: str, event_id: str, apply: Callable[[Session], T]) -> T | None:
    """Apply an event unless it was already applied; None for a duplicate."""
    try:
        with db.transaction() as s:
            s.execute(insert(WebhookEvent).values(provider=provider, event_id=event_id[:128]))
            return apply(s)
    except IntegrityError:
        return None


def _match(r: Receipt) -> ColumnElement[bool]:
    if r.delivery_id is None:
        return and_(Delivery.channel == r.channel, Delivery.provider_id == r.provider_id)
    cond = and_(Delivery.id == r.delivery_id, Delivery.channel == r.channel)
    if r.check_provider_id:
        cond = and_(cond, or_(Delivery.provider_id.is_(None),
                              Delivery.provider_id == r.provider_id))
    if r.address:
        cond = and_(cond, func.lower(Delivery.address) == r.address.lower())
    return cond


def apply_receipt(s: Session, r: Receipt) -> int | None:
    """Move the matching delivery forward; return its id, or None when nothing moved."""
    now = utcnow()
    values: dict[str, object] = {
        "status": r.status.value, "updated_at": now, "lease_until": None,
        "provider_id": func.coalesce(Delivery.provider_id, r.provider_id),
        "sent_at": func.coalesce(Delivery.sent_at, now)}
    leaves: tuple[str, ...] = RECEIPT_FROM
    if r.status is DeliveryStatus.SENT:
        leaves = (DeliveryStatus.SENDING.value,)
    elif r.status is DeliveryStatus.DELIVERED:
        values["delivered_at"] = now
    else:
        values.update(error_code=r.error_code, error=(r.error or "")[:300] or None)
    row = s.execute(update(Delivery).where(_match(r), Delivery.status.in_(leaves))
                    .values(**values).returning(Delivery.id)).first()
    return None if row is None else int(row[0])


def find(s: Session, r: Receipt) -> tuple[str, str] | None:
    """Return (delivery channel, address) of the delivery a receipt is about, in any state."""
    row = s.execute(select(Delivery.channel, Delivery.address).where(_match(r)).limit(1)).first()
    return None if row is None else (str(row[0]), str(row[1]))


def mark_address(s: Session, channel: str, address: str, status: str,
                 reason: str | None = None) -> int:
    """Mark every subscription of an address on a delivery channel opted out, bounced or blocked."""
    same = func.lower(Subscription.address) == address.lower() if channel == "email" \
        else Subscription.address == address
    result = s.execute(update(Subscription).where(
        Subscription.channel == channel, same, Subscription.status.in_(LEAVES[status]))
        .values(status=status, status_reason=(reason or "")[:200] or None, updated_at=utcnow()))
    return db.rowcount(result)


def language_of(s: Session, channel: str, address: str, default: str = "sv") -> str:
    """Return the language of the (first) subscriber of an address, or the default."""
    lang = s.scalar(select(Subscriber.language).join(Subscription)
                    .where(Subscription.channel == channel, Subscription.address == address)
                    .order_by(Subscription.id).limit(1))
    return str(lang) if lang else default
