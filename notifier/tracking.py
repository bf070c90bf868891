"""What became of a notice: progress per delivery channel, failures in plain words, who missed it.

And one way to reach those who did not get it: the same notice by another delivery channel
they have (through `control.reroute`, so nobody gets it twice on one channel).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from . import audit, control, estimate, progress, reasons
from .errors import NotifierError
from .models import SUBSCRIPTION_CHANNELS as CHANNELS
from .models import Delivery, Notice, Subscriber, Subscription, utcnow

# Did not get the notice: refused, bounced, or skipped because the customer opted out.
MISSED = ("failed", "undelivered", "skipped")
OPEN = ("queued", "sending", "retry_wait")
# The parts of a progress bar, in the order they are drawn.
BAR = ("delivered", "sent", "sending", "queued", "retry_wait", "failed", "undelivered",
       "skipped", "cancelled")
RATE_WINDOW = timedelta(seconds=30)
PAGE_SIZE = 50
# A notice whose later notices took over is stale: sending it again would contradict them.
RESENDABLE = ("sending", "paused", "completed")


Rows = Select[Delivery, str, int]  # a delivery, its subscriber's name and id


class ResendError(NotifierError):
    """The notice cannot be sent again to those who missed it, as asked."""


@dataclass(frozen=True)
class ChannelProgress:
    """One delivery channel of a notice: counts, the live rate and the time left."""

    channel: str
    counts: dict[str, int]
    rate: float | None  # messages per second over the last half minute
    seconds_left: float | None

    @property
    def total(self) -> int:
        """Count every delivery of the channel."""
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        """Count the deliveries still queued, being sent or waiting for the provider."""
        return sum(self.counts.get(st, 0) for st in OPEN)

    def share(self, status: str) -> float:
        """Return the percentage of the channel's deliveries in a status."""
        return 100.0 * self.counts.get(status, 0) / self.total if self.total else 0.0

    def bar(self) -> list[tuple[str, float, float]]:
        """Return (status, start %, width %) of each part of the progress bar."""
        parts, start = [], 0.0
        for status in BAR:
            width = self.share(status)
            if width:
                parts.append((status, round(start, 3), round(width, 3)))
                start += width
        return parts

    def to_json(self) -> dict[str, Any]:
        """Return what the live view needs."""
        return {"counts": self.counts, "total": self.total, "open": self.open,
                "rate": self.rate, "seconds_left": self.seconds_left, "bar": self.bar()}


def per_channel(s: Session, notice: Notice, rates: dict[str, float]) -> list[ChannelProgress]:
    """Return the progress of each delivery channel of a notice."""
    counts = progress.progress(s, notice.id)
    since = utcnow() - RATE_WINDOW
    recent = {str(ch): int(n) for ch, n in s.execute(
        select(Delivery.channel, func.count())
        .where(Delivery.notice_id == notice.id, Delivery.sent_at >= since)
        .group_by(Delivery.channel))}
    ahead = estimate.for_notice(s, notice)  # the one estimator: segments and the queue ahead
    result = []
    for channel in sorted(counts, key=lambda c: CHANNELS.index(c) if c in CHANNELS else 9):
        per = counts[channel]
        left = sum(per.get(st, 0) for st in OPEN)
        rate = recent.get(channel, 0) / RATE_WINDOW.total_seconds() or None
        e = ahead.get(channel)
        seconds = (e.seconds if e and notice.state == "sending" else None) if left else 0.0
        result.append(ChannelProgress(channel, per, rate, seconds))
    return result


@dataclass(frozen=True)
class Failure:
    """Deliveries of one channel that failed for one reason."""

    channel: str
    reason: str
    count: int
    code: str | None


def failures(s: Session, notice_id: int) -> list[Failure]:
    """Group the deliveries that did not get through by channel and reason, most first."""
    rows = s.execute(select(Delivery.channel, Delivery.status, Delivery.error_code,
                            func.min(Delivery.error), func.count())
                     .where(Delivery.notice_id == notice_id, Delivery.status.in_(MISSED))
                     .group_by(Delivery.channel, Delivery.status, Delivery.error_code))
    grouped: dict[tuple[str, str], tuple[int, str | None]] = {}
    for channel, status, code, error, n in rows:
        key = (channel, reasons.explain(channel, status, code, error))
        before = grouped.get(key, (0, code))
        grouped[key] = (before[0] + int(n), before[1])
    return sorted((Failure(ch, why, n, code) for (ch, why), (n, code) in grouped.items()),
                  key=lambda f: (-f.count, f.channel, f.reason))


@dataclass(frozen=True)
class Missed:
    """One delivery that did not reach its recipient, and why."""

    delivery_id: int
    channel: str
    address: str
    name: str
    language: str
    status: str
    reason: str
    code: str | None
    at: Any  # when it was last changed
    others: tuple[str, ...]  # the recipient's other active delivery channels


def _missed_query(notice_id: int, search: str = "", channel: str = "") -> Rows:
    query = (select(Delivery, Subscriber.name, Subscriber.id)
             .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
             .outerjoin(Subscriber, Subscriber.id == Subscription.subscriber_id)
             .where(Delivery.notice_id == notice_id, Delivery.status.in_(MISSED))
             .order_by(Delivery.channel, Delivery.id))
    if channel:
        query = query.where(Delivery.channel == channel)
    if search.strip():
        like = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Subscriber.name).like(like),
                                func.lower(Delivery.address).like(like)))
    return query


def _others(s: Session, subscriber_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for sub_id, channel in s.execute(select(Subscription.subscriber_id, Subscription.channel)
                                     .where(Subscription.subscriber_id.in_(subscriber_ids),
                                            Subscription.status == "active")
                                     .order_by(Subscription.channel)):
        found.setdefault(sub_id, []).append(channel)
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}


def _rows(s: Session, query: Rows) -> list[Missed]:
    rows = s.execute(query).all()
    others = _others(s, [sid for _, _, sid in rows if sid is not None])
    return [Missed(d.id, d.channel, d.address, name or "", d.language, d.status,
                   reasons.explain(d.channel, d.status, d.error_code, d.error), d.error_code,
                   d.updated_at or d.sent_at, tuple(c for c in others.get(sid, ()) if c != d.channel))
            for d, name, sid in rows]


@dataclass(frozen=True)
class MissedPage:
    """One page of the list of who did not get a notice."""

    rows: list[Missed]
    total: int
    page: int
    pages: int


def missed(s: Session, notice_id: int, search: str = "", channel: str = "",
           page: int = 1) -> MissedPage:
    """Return one page of the recipients who did not get a notice, searchable by name or address."""
    query = _missed_query(notice_id, search, channel)
    total = int(s.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = _rows(s, query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    return MissedPage(rows, total, page, pages)


def all_missed(s: Session, notice_id: int, search: str = "", channel: str = "") -> Iterator[Missed]:
    """Yield every recipient who did not get a notice (for the CSV export), in chunks."""
    query = _missed_query(notice_id, search, channel)
    offset = 0
    while True:
        rows = _rows(s, query.limit(1000).offset(offset))
        yield from rows
        if len(rows) < 1000:
            return
        offset += 1000


def _missed_ids(notice_id: int, to_channel: str) -> Select[int]:
    return select(Delivery.id).where(Delivery.notice_id == notice_id,
                                     Delivery.status.in_(MISSED), Delivery.channel != to_channel)


def reachable(s: Session, notice: Notice) -> dict[str, int]:
    """Count, per delivery channel, the people who missed the notice and could get it there."""
    result = {}
    for channel in CHANNELS:
        if channel not in notice.rendered.get("sv", {}):
            continue
        old, target, other = aliased(Subscription), aliased(Subscription), aliased(Delivery)
        already = exists().where(other.notice_id == notice.id, other.channel == channel,
                                 other.address == target.address)
        n = s.scalar(select(func.count(func.distinct(target.address)))
                     .select_from(Delivery)
                     .join(old, old.id == Delivery.subscription_id)
                     .join(target, and_(target.subscriber_id == old.subscriber_id,
                                        target.channel == channel, target.status == "active"))
                     .where(Delivery.id.in_(_missed_ids(notice.id, channel)), ~already))
        if n:
            result[channel] = int(n)
    return result


def resend(s: Session, notice_id: int, to_channel: str, who: str) -> int:
    """Give those who missed a notice the same notice on another channel they have.

    Return how many deliveries were made; the caller enqueues them after commit
    (`dispatch.enqueue_queued`).
    """
    notice = s.get(Notice, notice_id)
    if notice is None:
        raise ResendError(f"No notice {notice_id}.")
    if notice.state not in RESENDABLE:
        raise ResendError(f"Notice {notice_id} is {notice.state}: a later notice or a "
                          "cancellation replaced it, so it is not sent again.")
    ids = list(s.scalars(_missed_ids(notice_id, to_channel)))
    # Counted here: reroute counts every delivery made from these ids, earlier ones too.
    on_channel = select(func.count()).select_from(Delivery).where(
        Delivery.notice_id == notice_id, Delivery.channel == to_channel)
    before = int(s.scalar(on_channel) or 0)
    if ids:
        control.reroute(s, notice, ids, to_channel)
    created = int(s.scalar(on_channel) or 0) - before
    if created:
        # A finished notice is sending again until these deliveries are done.
        s.execute(update(Notice).where(Notice.id == notice_id, Notice.state == "completed")
                  .values(state="sending"))
    audit.record(s, "notice.resend", f"notice:{notice_id}", who=who, to_channel=to_channel,
                 missed=len(ids), created=created)
    return created
