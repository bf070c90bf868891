"""Plan a notice's deliveries range by range, so the first messages go out while the rest is planned.

Confirm plans the first few thousand subscriptions in its own transaction and commits: their
jobs start at once, on every delivery channel. A `plan_notice` job then plans the next range,
commits, enqueues its deliveries and enqueues itself again, until the whole audience is planned;
the reconciler restarts a chain whose job Redis lost. Each range re-reads the notice under a row
lock: a notice paused, cancelled or superseded meanwhile stops being planned, so nobody gets an
earlier notice of an incident after a later one.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import db, deliveries, enqueueing, progress, queues
from .channels import SUBSCRIPTION_CHANNELS
from .models import Notice, Subscription, utcnow

FIRST_RANGE = 3_000    # at most this many subscription ids planned inside confirm (milliseconds)
STALLED = timedelta(seconds=30)  # a planning chain without progress this long is restarted


def _channels(notice: Notice) -> list[str]:
    return [c for c in notice.channels if c in SUBSCRIPTION_CHANNELS]


def plan_range(s: Session, notice: Notice, size: int) -> list[tuple[int, str]]:
    """Plan the next range of subscriptions of a notice; mark it planned when none are left."""
    top = s.scalar(select(func.max(Subscription.id))) or 0
    start = (notice.planned_through or 0) + 1
    end = start + size - 1
    rows = deliveries.plan(s, notice, _channels(notice), (start, end)) if start <= top else []
    notice.planned_through = end
    notice.planned_at = utcnow()
    notice.planning = end < top
    return rows


def plan_first(s: Session, notice: Notice) -> int:
    """Plan the first range inside confirm; return how many deliveries it queued."""
    notice.planned_through = (s.scalar(select(func.min(Subscription.id))) or 1) - 1
    size = min(FIRST_RANGE, current_app.config["PLANNING_RANGE"])
    return len(plan_range(s, notice, size))


def plan_next(notice_id: int) -> int:
    """Plan one more range of a notice (a job), enqueue its deliveries and the next range."""
    with db.transaction() as s:
        notice = s.get(Notice, notice_id, with_for_update=True)
        if notice is None or not notice.planning:
            return 0
        if notice.state not in ("sending", "paused"):
            notice.planning = False  # stopped: what is not planned is never sent
            return 0
        rows = plan_range(s, notice, current_app.config["PLANNING_RANGE"])
        more, paused = notice.planning, notice.state == "paused"
    if not paused:  # a paused notice's queued deliveries get their jobs on resume
        _enqueue(notice_id, rows)
    if more:
        queues.queue("control").enqueue(queues.PLAN_NOTICE, notice_id)
    else:
        with db.transaction() as s:
            progress.complete_finished(s, notice_id)
    return len(rows)


def _enqueue(notice_id: int, rows: Sequence[tuple[int, str]]) -> None:
    by_channel: dict[str, list[int]] = defaultdict(list)
    for id_, channel in rows:
        by_channel[channel].append(id_)
    for channel, ids in by_channel.items():
        enqueueing.enqueue_ids(notice_id, channel, sorted(ids))


def stalled(s: Session) -> list[int]:
    """Return notices whose planning made no progress for a while (their job was lost)."""
    return list(s.scalars(select(Notice.id).where(Notice.planning.is_(True),
                                                  Notice.planned_at < utcnow() - STALLED)))
