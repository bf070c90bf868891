"""Who a notice reaches: one row per (delivery channel, address) of active subscriptions."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..errors import NotifierError
from ..models import LANGUAGES, Segment, Subscriber, SubscriberSegment, Subscription


def selection(channels: Sequence[str], segments: Sequence[str]) -> Select[str, str, str, int]:
    """Select one row per (delivery channel, address) of active subscriptions in the segments."""
    q = (select(Subscription.channel, Subscription.address, func.min(Subscriber.language),
                func.min(Subscription.id))
         .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
         .where(Subscription.status == "active", Subscription.channel.in_(list(channels)))
         .group_by(Subscription.channel, Subscription.address))
    if segments:
        members = (select(SubscriberSegment.subscriber_id)
                   .join(Segment, Segment.id == SubscriberSegment.segment_id)
                   .where(Segment.key.in_(list(segments))))
        q = q.where(Subscription.subscriber_id.in_(members))
    return q


def counts(s: Session, channels: Sequence[str], segments: Sequence[str]) -> dict[str, dict[str, int]]:
    """Count recipients per delivery channel and language."""
    inner = selection(channels, segments).subquery()
    rows = s.execute(select(inner.c.channel, inner.c[2], func.count())
                     .group_by(inner.c.channel, inner.c[2]))
    result: dict[str, dict[str, int]] = {c: {lang: 0 for lang in LANGUAGES} for c in channels}
    for channel, language, n in rows:
        result[channel][language] = n
    return result


def check_segments(s: Session, segments: Iterable[str]) -> None:
    """Refuse unknown segment keys with the list of known ones."""
    known = set(s.scalars(select(Segment.key)))
    unknown = [k for k in segments if k not in known]
    if unknown:
        raise NotifierError(f"Unknown segment {', '.join(unknown)}. Known segments: "
                            f"{', '.join(sorted(known)) or 'none'}.")
