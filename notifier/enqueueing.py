"""Putting work on the queues: batch jobs of delivery ids, the banner, scheduled starts.

A job names a batch of deliveries (an id range), never one message: RQ costs about a
millisecond per job. Jobs of one call go to Redis in one pipeline.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import current_app
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import deliveries, queues
from .channels import SUBSCRIPTION_CHANNELS
from .models import Notice

# A batch should finish well inside the job timeout (600 s) at the channel's rate.
# Short batches keep workers free to take another channel's or notice's work; pause and cancel
# act between chunks anyway.
BATCH_SECONDS = 10
MAX_BATCH = {"sms": 500, "email": 5000, "telegram": 500}
PLANNED = "notifier:planned"  # members "notice:channel" whose queued deliveries have jobs


def batch_size(channel: str, rate: float) -> int:
    """Size a batch so it finishes well inside the job timeout at the channel's rate."""
    return max(1, min(MAX_BATCH[channel], int(rate * BATCH_SECONDS)))


def id_ranges(ids: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Cut sorted delivery ids into (first, last) ranges of at most size ids."""
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def enqueue_ids(notice_id: int, channel: str, ids: Sequence[int], first: bool = False) -> int:
    """Enqueue batch jobs covering the delivery ids of one channel."""
    return enqueue_channels(notice_id, {channel: ids}, first)


def enqueue_channels(notice_id: int, ids: Mapping[str, Sequence[int]], first: bool = False) -> int:
    """Enqueue batch jobs covering delivery ids per channel; mark each pair planned first.

    The first job of every channel goes on its queue before any second one, so each channel's
    worker finds work of its own at once. `first` puts them at the front of the queues: a
    follow-up notice goes before what is left of the notices it supersedes.
    """
    rates = current_app.config["RATES"]
    ranges = {ch: id_ranges(list(v), batch_size(ch, rates[ch])) for ch, v in ids.items() if v}
    if not ranges:
        return 0
    queues.redis().sadd(PLANNED, *(f"{notice_id}:{ch}" for ch in ranges))
    for part in (slice(0, 1), slice(1, None)):
        for ch, rs in ranges.items():
            jobs = [Queue.prepare_data(queues.DELIVER_BATCH, (notice_id, ch, lo, hi),
                                       description=f"notice {notice_id} {ch} {lo}-{hi}",
                                       timeout=queues.JOB_TIMEOUT, at_front=first)
                    for lo, hi in rs[part]]
            if jobs:
                queues.queue(ch).enqueue_many(jobs)
    return sum(len(rs) for rs in ranges.values())


def enqueue(s: Session, notice: Notice) -> int:
    """Put batch jobs for the notice's queued deliveries and the banner on the queues."""
    jobs = enqueue_queued(s, notice)
    if follows(s, notice):  # cancel what the earlier notices of the incident left unsent
        queues.queue("control").enqueue(queues.CANCEL_STOPPED, notice.incident_id, at_front=True)
    if notice.planning:  # the rest of the audience is planned range by range, by jobs
        queues.queue("planning").enqueue(queues.PLAN_NOTICE, notice.id)
    if notice.state == "scheduled" and notice.scheduled_at is not None:
        # RQ's scheduler starts it on time; the reconciler starts it too if Redis lost the job.
        queues.queue("control").enqueue_at(notice.scheduled_at, queues.START_SCHEDULED)
        return 0
    queues.publish_banner_soon()
    return jobs


def enqueue_queued(s: Session, notice: Notice) -> int:
    """Enqueue jobs for every queued delivery of a notice (after resume or reroute)."""
    return enqueue_channels(notice.id, {ch: deliveries.queued_ids(s, notice.id, ch)
                                        for ch in SUBSCRIPTION_CHANNELS}, follows(s, notice))


def follows(s: Session, notice: Notice) -> bool:
    """Tell whether a notice follows another of its incident (an update, the all-clear)."""
    return s.scalar(select(Notice.id).where(Notice.incident_id == notice.incident_id,
                                            Notice.id < notice.id).limit(1)) is not None


