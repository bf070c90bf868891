"""Finding a subscriber and what they received; fixing an address by hand (the console)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from .. import audit, clock, db, receipts
from ..addresses import AddressError, normalise, search_forms
from ..clock import utcnow
from ..errors import NotifierError
from ..models import (
    Delivery,
    InboxMessage,
    Notice,
    Segment,
    Subscriber,
    SubscriberSegment,
    Subscription,
)
from ..texts import Text, _l

PAGE = 50
HISTORY = 200


class DirectoryError(NotifierError):
    """A change to a subscriber cannot be made; says why, translatable."""

    def __init__(self, message: str, **values: object) -> None:
        self.text = Text(message, dict(values))
        super().__init__(str(self.text))


@dataclass
class Found:
    """One subscriber in a list of search results."""

    subscriber: Subscriber
    subscriptions: list[Subscription] = field(default_factory=list)


@dataclass
class Person:
    """Everything the console shows about one subscriber."""

    subscriber: Subscriber
    subscriptions: list[Subscription]
    segments: list[str]
    received: list[Any]      # rows: delivery joined with its notice
    inbox: list[InboxMessage]


def search(s: Session, query: str, *, limit: int = PAGE) -> list[Found]:
    """Find subscribers by name, number, email or external id (newest first without a query)."""
    q = select(Subscriber).order_by(Subscriber.id.desc()).limit(limit)
    text = query.strip()[:200]
    if text:
        by_address = select(Subscription.subscriber_id).where(or_(
            Subscription.address.in_(search_forms(text)),
            func.lower(Subscription.address).contains(text.lower(), autoescape=True),
            *_digits(text)))
        q = q.where(or_(func.lower(Subscriber.name).contains(text.lower(), autoescape=True),
                        Subscriber.external_id == text, Subscriber.id.in_(by_address)))
    people = list(s.scalars(q))
    subs: dict[int, list[Subscription]] = {p.id: [] for p in people}
    for sub in s.scalars(select(Subscription).where(Subscription.subscriber_id.in_(list(subs)))
                         .order_by(Subscription.channel, Subscription.id)):
        subs[sub.subscriber_id].append(sub)
    return [Found(p, subs[p.id]) for p in people]


def _digits(text: str) -> list[Any]:
    """Match part of a number as people type it ("45 67"), if the query is mostly digits."""
    digits = re.sub(r"[\s()-]", "", text)
    if len(digits) >= 4 and digits.lstrip("+").isdigit():
        return [Subscription.address.contains(digits.lstrip("0+"), autoescape=True)]
    return []


def person(s: Session, subscriber_id: int) -> Person | None:
    """Return a subscriber with subscriptions, segments, what they received, and their messages."""
    subscriber = s.get(Subscriber, subscriber_id)
    if subscriber is None:
        return None
    subs = list(s.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id)
                          .order_by(Subscription.channel, Subscription.id)))
    segments = list(s.scalars(select(Segment.key).join(SubscriberSegment).where(
        SubscriberSegment.subscriber_id == subscriber_id).order_by(Segment.key)))
    pairs = [(sub.channel, sub.address) for sub in subs]
    received = list(s.execute(
        select(Delivery, Notice).join(Notice, Notice.id == Delivery.notice_id)
        .where(tuple_(Delivery.channel, Delivery.address).in_(pairs))
        .order_by(Delivery.notice_id.desc(), Delivery.channel).limit(HISTORY))) if pairs else []
    inbox = list(s.scalars(select(InboxMessage).where(InboxMessage.subscriber_id == subscriber_id)
                           .order_by(InboxMessage.received_at.desc()).limit(HISTORY)))
    return Person(subscriber, subs, segments, received, inbox)


def fix_address(s: Session, subscription_id: int, raw: str) -> Subscription:
    """Correct the address of a subscription; a bounced one becomes active again.

    An opt-out or a block stays: it is the person's word, whatever the address is now.
    """
    sub = s.get(Subscription, subscription_id)
    if sub is None:
        raise DirectoryError(_l("There is no such subscription (it may have been erased)."))
    try:
        address = normalise(sub.channel, raw)
    except AddressError as exc:
        raise DirectoryError(_l("%(why)s. Nothing was changed."), why=exc.text) from None
    if address == sub.address:
        return sub
    clash = s.scalar(select(Subscription.id).where(
        Subscription.subscriber_id == sub.subscriber_id, Subscription.channel == sub.channel,
        Subscription.address == address))
    if clash is not None:
        raise DirectoryError(_l("This subscriber already has that address."))
    sub.address, sub.updated_at = address, utcnow()
    if sub.status == "bounced":
        sub.status, sub.status_reason = "active", None
    audit.record(s, "subscription.fix", f"subscriber:{sub.subscriber_id}", channel=sub.channel)
    return sub


def opt_out(s: Session, subscription_id: int, who: str) -> None:
    """Opt a subscription's address out on a customer's request made to a person."""
    sub = s.get(Subscription, subscription_id)
    if sub is None:
        raise DirectoryError(_l("There is no such subscription (it may have been erased)."))
    receipts.mark_address(s, sub.channel, sub.address, "opted_out",
                          f"opted out in the console by {who}")
    audit.record(s, "subscription.opt_out", f"subscriber:{sub.subscriber_id}",
                 channel=sub.channel)


def export_rows() -> Any:
    """Yield every subscription as a CSV row, one subscriber's rows together (streamed).

    It reads in a session of its own, closed when the last row is out (or the download is
    abandoned), so a long export holds no transaction open afterwards.
    """
    with db.reading() as s:
        yield from _export_rows(s)


def _export_rows(s: Session) -> Any:
    segments: dict[int, list[str]] = {}
    for subscriber_id, key in s.execute(select(SubscriberSegment.subscriber_id, Segment.key)
                                        .join(Segment).order_by(Segment.key)):
        segments.setdefault(subscriber_id, []).append(key)
    rows = s.execute(select(Subscriber.id, Subscriber.external_id, Subscriber.name,
                            Subscriber.language, Subscription.channel, Subscription.address,
                            Subscription.status, Subscription.status_reason,
                            Subscription.consent_source, Subscription.consented_at)
                     .join(Subscription, isouter=True)
                     .order_by(Subscriber.id, Subscription.channel, Subscription.id)
                     .execution_options(yield_per=1000))
    for row in rows:
        yield [*row[:9], clock.local(row[9], empty=""), "|".join(segments.get(row[0], []))]


EXPORT_HEADER = ("subscriber_id", "external_id", "name", "language", "channel", "address",
                 "status", "status_reason", "consent_source", "consented_at", "segments")
