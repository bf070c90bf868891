"""A customer's own yes: subscribing (again) on a delivery channel, with where and when they said it.

Saying no lives in `receipts.mark_address` (every opt-out, bounce and block); this module is the
other direction, used by the sign-up page, the Telegram bot and the START keyword.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import CONSENT_SOURCES, Segment, Subscriber, SubscriberSegment, Subscription


@dataclass(frozen=True)
class Yes:
    """Someone's consent to receive notices at an address."""

    channel: str
    address: str
    source: str                 # one of CONSENT_SOURCES
    language: str | None = None  # their choice, when they made one
    name: str = ""


def subscribe(s: Session, yes: Yes, subscriber_id: int | None = None) -> int:
    """Make the address an active subscription; return the subscriber's id.

    The address joins the given subscriber, else the one already holding it, else a new one. An
    opted-out, bounced or blocked subscription becomes active again: this is a new, explicit yes.
    """
    assert yes.source in CONSENT_SOURCES
    now = utcnow()
    existing = s.scalars(select(Subscription).where(
        Subscription.channel == yes.channel, Subscription.address == yes.address)
        .order_by(Subscription.id)).all()
    if subscriber_id is None and existing:
        subscriber_id = existing[0].subscriber_id
    if subscriber_id is None:
        person = Subscriber(name=yes.name, language=yes.language or "sv")
        s.add(person)
        s.flush()
        subscriber_id = person.id
    elif yes.language:
        chosen = s.get(Subscriber, subscriber_id)
        if chosen is not None:
            chosen.language = yes.language
    mine = [sub for sub in existing if sub.subscriber_id == subscriber_id]
    if not mine:
        s.add(Subscription(subscriber_id=subscriber_id, channel=yes.channel, address=yes.address,
                           status="active", consent_source=yes.source, consented_at=now))
    for sub in mine:
        sub.status, sub.status_reason = "active", None
        sub.consent_source, sub.consented_at, sub.updated_at = yes.source, now, now
    s.flush()
    return subscriber_id


def join_segments(s: Session, subscriber_id: int, keys: Iterable[str]) -> None:
    """Add a subscriber to existing segments (never removes one, never creates one)."""
    wanted = set(s.scalars(select(Segment.id).where(Segment.key.in_(list(keys)))))
    have = set(s.scalars(select(SubscriberSegment.segment_id)
                         .where(SubscriberSegment.subscriber_id == subscriber_id)))
    missing = sorted(wanted - have)
    if missing:
        s.execute(insert(SubscriberSegment), [{"subscriber_id": subscriber_id, "segment_id": g}
                                              for g in missing])
