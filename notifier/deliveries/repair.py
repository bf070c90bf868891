"""The reconciler's side: whatever happened to a worker or to Redis, every delivery moves on.

Expired leases go back to the queue, due retries are requeued, deliveries still failing at their
notice's deadline are given up on, deliveries of stopped notices end cancelled (never requeued),
and deliveries failing for longer than the fallback delay go by the notice's fallback channel.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..models import Delivery, Notice
from .machine import W, move, statement
from .outcomes import STOPPED
from .planning import add_on_channel, cancel, covered

Pairs = dict[tuple[int, str], list[int]]


@dataclass
class Repaired:
    """What one pass did; `back` and `fallbacks` are queued ids that need jobs."""

    back: Pairs = field(default_factory=lambda: defaultdict(list))
    fallbacks: Pairs = field(default_factory=lambda: defaultdict(list))
    stopped: int = 0
    given_up: int = 0

    def summary(self) -> dict[str, int]:
        """Count what happened, for the log."""
        return {"requeued": sum(map(len, self.back.values())),
                "fallbacks": sum(map(len, self.fallbacks.values())),
                "stopped": self.stopped, "given_up": self.given_up}


def _stopped() -> Select[int]:
    return select(Notice.id).where(Notice.state.in_(STOPPED))


def repair(s: Session, now: datetime, fallback_after: timedelta) -> Repaired:
    """Run every repair of one reconciler pass in the caller's transaction."""
    done = Repaired()
    stopped = _stopped()
    done.stopped = move(s, "stop", Delivery.lease_until < now, Delivery.notice_id.in_(stopped),
                        lease_until=None, error="notice stopped") + \
        move(s, "cancel", Delivery.notice_id.in_(stopped), next_attempt_at=None,
             error="notice stopped")
    for pair, ids in _fall_back_slow(s, now, fallback_after).items():
        done.fallbacks[pair].extend(ids)
    overdue = select(Notice.id).where(Notice.deadline_at < now)
    done.given_up = move(s, "give_up", Delivery.next_attempt_at <= now,
                         Delivery.notice_id.in_(overdue), next_attempt_at=None,
                         error="still failing at the delivery deadline")
    for name, where in (("expire", Delivery.lease_until < now),
                        ("requeue", Delivery.next_attempt_at <= now)):
        rows = s.execute(statement(name, where, lease_until=None, next_attempt_at=None)
                         .returning(Delivery.notice_id, Delivery.channel, Delivery.id)).all()
        for notice_id, channel, id_ in rows:
            done.back[(notice_id, channel)].append(id_)
    return done


def fall_back(s: Session, notice: Notice, channel: str, ids: Sequence[int]) -> list[int]:
    """Queue these deliveries' subscribers on the notice's fallback channel; return the new ids.

    Nothing happens for a notice without a fallback for the channel, or one that was stopped.
    """
    target = (notice.fallback or {}).get(channel)
    if not ids or not target or notice.state in STOPPED or _followed(s, notice):
        return []
    add_on_channel(s, notice, list(ids), target)
    return list(s.scalars(select(Delivery.id).where(
        Delivery.notice_id == notice.id, Delivery.fallback_of.in_(list(ids)),
        Delivery.status == "queued").order_by(Delivery.id)))


def _followed(s: Session, notice: Notice) -> bool:
    """Tell whether a later notice of the incident went out (the earlier one is out of date)."""
    return s.scalar(select(Notice.id).where(Notice.incident_id == notice.incident_id,
                                            Notice.id > notice.id,
                                            Notice.state != "scheduled").limit(1)) is not None


def _fall_back_slow(s: Session, now: datetime, after: timedelta) -> Pairs:
    """Send by the fallback channel what has failed transiently for longer than `after`."""
    found: Pairs = defaultdict(list)
    rows = s.execute(select(Delivery.notice_id, Delivery.channel, Delivery.id)
                     .join(Notice, Notice.id == Delivery.notice_id)
                     .where(Delivery.status == W, Delivery.first_failed_at <= now - after,
                            Notice.state.in_(("sending", "paused")))).all()
    by_notice: Pairs = defaultdict(list)
    for notice_id, channel, id_ in rows:
        by_notice[(notice_id, channel)].append(id_)
    for (notice_id, channel), ids in by_notice.items():
        notice = s.get(Notice, notice_id)
        if notice is None or not (notice.fallback or {}).get(channel):
            continue
        new = fall_back(s, notice, channel, ids)
        minutes = f"{after.total_seconds() / 60:g}"
        # Only those the fallback reaches stop waiting; the others keep their retries.
        cancel(s, covered(s, ids, notice.fallback[channel]), f"sent by {notice.fallback[channel]} instead after {minutes} min "
                       "of provider failures")
        found[(notice_id, notice.fallback[channel])].extend(new)
    return found
