"""How far a notice has come: counts per delivery channel and status, and what is waiting, and why.

The console's notice page, `notifier status` and `notifier send --wait` read these.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import clock, db
from .models import OPEN_STATUSES, Delivery, DeliveryStatus, Incident, Notice, utcnow

PROVIDER_OF = {"sms": "SMS", "email": "Email", "telegram": "Telegram"}


def progress(s: Session, notice_id: int) -> dict[str, dict[str, int]]:
    """Count deliveries per delivery channel and status."""
    rows = s.execute(select(Delivery.channel, Delivery.status, func.count())
                     .where(Delivery.notice_id == notice_id)
                     .group_by(Delivery.channel, Delivery.status))
    result: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        result.setdefault(channel, {})[status] = n
    return result


def is_finished(counts: Mapping[str, Mapping[str, int]]) -> bool:
    """Tell whether nothing is left queued, sending or waiting for a retry."""
    open_ = {s.value for s in OPEN_STATUSES}
    return not any(n for per in counts.values() for st, n in per.items() if st in open_)


def timestamps(s: Session, notice_id: int) -> tuple[datetime | None, datetime | None]:
    """Return the first and last send time of a notice."""
    row = s.execute(select(func.min(Delivery.sent_at), func.max(Delivery.sent_at))
                    .where(Delivery.notice_id == notice_id)).one()
    return clock.aware(row[0]), clock.aware(row[1])


@dataclass(frozen=True)
class Waiting:
    """Deliveries of one channel waiting for their provider to recover."""

    channel: str
    count: int
    since: datetime | None     # when the first of them started failing
    next_try: datetime | None
    reason: str                # the provider's most frequent answer, e.g. "20500: Service unavailable"

    def describe(self) -> str:
        """Say it as an operator needs it: who fails since when, how many wait, the next try."""
        since = f" since {clock.local(self.since)[-5:]}" if self.since else ""
        nxt = f", next try {clock.local(self.next_try)[-5:]}" if self.next_try else ""
        why = f" ({self.reason})" if self.reason else ""
        return (f"{PROVIDER_OF.get(self.channel, self.channel)} provider failing{since}, "
                f"{self.count:,} waiting{nxt}{why}")


def waiting(s: Session, notice_id: int) -> list[Waiting]:
    """Return, per delivery channel, the deliveries waiting for a retry and why."""
    wait = DeliveryStatus.RETRY_WAIT.value
    rows = s.execute(select(Delivery.channel, func.count(), func.min(Delivery.first_failed_at),
                            func.min(Delivery.next_attempt_at))
                     .where(Delivery.notice_id == notice_id, Delivery.status == wait)
                     .group_by(Delivery.channel).order_by(Delivery.channel)).all()
    found = []
    for channel, count, since, next_try in rows:
        reason = s.execute(select(Delivery.error_code, Delivery.error, func.count().label("n"))
                           .where(Delivery.notice_id == notice_id, Delivery.channel == channel,
                                  Delivery.status == wait)
                           .group_by(Delivery.error_code, Delivery.error)
                           .order_by(func.count().desc()).limit(1)).first()
        text = ": ".join(x for x in (reason[0], reason[1]) if x) if reason else ""
        found.append(Waiting(channel, int(count), clock.aware(since), clock.aware(next_try),
                             text[:120]))
    return found


def complete_finished(s: Session, notice_id: int | None = None) -> int:
    """Mark notices with nothing left queued, sending or waiting as completed."""
    pending = (select(Delivery.id).where(Delivery.notice_id == Notice.id,
                                         Delivery.status.in_([st.value for st in OPEN_STATUSES]))
               .exists())
    stmt = update(Notice).where(Notice.state == "sending", Notice.planning.is_(False), ~pending)
    if notice_id is not None:
        stmt = stmt.where(Notice.id == notice_id)
    done = db.rowcount(s.execute(stmt.values(state="completed")))
    # A drill's incident closes once its notices are done, so drills do not pile up as "open".
    busy = select(Notice.id).where(Notice.incident_id == Incident.id,
                                   Notice.state.in_(("sending", "paused", "scheduled"))).exists()
    s.execute(update(Incident).where(Incident.drill.is_(True), Incident.state == "open", ~busy)
              .values(state="closed", closed_at=utcnow()))
    return done
