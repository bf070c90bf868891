"""One subscriber written whole (the API): a validated record replaces what the subscriber has."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..addresses import NORMALISERS, AddressError
from ..errors import NotifierError
from ..models import LANGUAGES, Delivery, Segment, Subscriber, SubscriberSegment, Subscription


@dataclass
class Row:
    """One subscriber as a client sent it, already validated."""

    name: str
    language: str
    addresses: dict[str, str]
    segments: list[str]
    external_id: str | None = None


def parse_row(raw: dict[str, str | None]) -> Row:
    """Validate one record; raise AddressError naming the field on a bad value."""
    def get(key: str) -> str:
        return (raw.get(key) or "").strip()

    language = get("language").lower() or "sv"
    if language not in LANGUAGES:
        raise AddressError(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    found: dict[str, str] = {}
    for column, channel in (("phone", "sms"), ("email", "email"), ("telegram_chat_id", "telegram")):
        if get(column):
            try:
                found[channel] = NORMALISERS[channel](get(column))
            except AddressError as exc:
                raise AddressError(f"{column}: {exc}") from None
    if not found:
        raise AddressError("no phone, email or telegram_chat_id: give at least one")
    segments = [p.strip() for p in get("segments").split("|") if p.strip()]
    return Row(get("name"), language, found, segments, get("external_id") or None)


def save(s: Session, row: Row, subscriber_id: int | None = None) -> Subscriber:
    """Create a subscriber from a validated row, or make an existing one match it (the API's write)."""
    sub = Subscriber() if subscriber_id is None else s.get(Subscriber, subscriber_id)
    if sub is None:
        raise NotifierError(f"No subscriber {subscriber_id}.")
    s.add(sub)
    sub.name, sub.language, sub.external_id = row.name, row.language, row.external_id
    s.flush()
    _replace_subscriptions(s, sub.id, row.addresses)
    _replace_segments(s, sub.id, row.segments)
    audit.record(s, "subscriber.save", f"subscriber:{sub.id}")
    return sub


def remove(s: Session, subscriber_id: int) -> None:
    """Delete a subscriber and their subscriptions; past deliveries keep no link to them."""
    ids = select(Subscription.id).where(Subscription.subscriber_id == subscriber_id)
    s.execute(update(Delivery).where(Delivery.subscription_id.in_(ids))
              .values(subscription_id=None))
    s.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber_id))
    s.execute(delete(SubscriberSegment).where(SubscriberSegment.subscriber_id == subscriber_id))
    s.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))
    audit.record(s, "subscriber.delete", f"subscriber:{subscriber_id}")


def _replace_subscriptions(s: Session, subscriber_id: int, wanted_addresses: dict[str, str]) -> None:
    """Make the subscriber's addresses those of the row; kept ones keep their state."""
    wanted = set(wanted_addresses.items())
    for existing in s.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id)):
        if (existing.channel, existing.address) in wanted:
            wanted.discard((existing.channel, existing.address))
        elif existing.status == "active":
            s.execute(update(Delivery).where(Delivery.subscription_id == existing.id)
                      .values(subscription_id=None))
            s.delete(existing)
        # an opted-out, bounced or blocked row stays: the person's "no" must survive
    for channel, address in sorted(wanted):
        s.add(Subscription(subscriber_id=subscriber_id, channel=channel, address=address,
                           consent_source="console"))
    s.flush()


def _replace_segments(s: Session, subscriber_id: int, keys: list[str]) -> None:
    """Make the subscriber's segments those of the row, creating new segments on first use."""
    segments = {key: id_ for id_, key in s.execute(select(Segment.id, Segment.key))}
    for key in keys:
        if key not in segments:
            seg = Segment(key=key)
            s.add(seg)
            s.flush()
            segments[key] = seg.id
    wanted = {segments[k] for k in keys}
    have = set(s.scalars(select(SubscriberSegment.segment_id)
                         .where(SubscriberSegment.subscriber_id == subscriber_id)))
    for segment_id in have - wanted:
        s.execute(delete(SubscriberSegment).where(SubscriberSegment.subscriber_id == subscriber_id,
                                                  SubscriberSegment.segment_id == segment_id))
    for segment_id in wanted - have:
        s.add(SubscriberSegment(subscriber_id=subscriber_id, segment_id=segment_id))
