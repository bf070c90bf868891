"""Putting work on the queues: batch jobs of delivery ids, the banner, scheduled starts.

A job names a batch of deliveries (an id range), never one message: RQ costs about a
millisecond per job. Jobs of one call go to Redis in one pipeline.
"""
from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from rq import Queue
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


def enqueue_ids(notice_id: int, channel: str, ids: Sequence[int]) -> int:
    """Enqueue batch jobs covering the delivery ids; mark the pair planned first."""
    if not ids:
        return 0
    queues.redis().sadd(PLANNED, f"{notice_id}:{channel}")
    ranges = id_ranges(ids, batch_size(channel, current_app.config["RATES"][channel]))
    jobs = [Queue.prepare_data(queues.DELIVER_BATCH, (notice_id, channel, first, last),
                               description=f"notice {notice_id} {channel} {first}-{last}",
                               timeout=queues.JOB_TIMEOUT)
            for first, last in ranges]
    queues.queue(channel).enqueue_many(jobs)
    return len(ranges)


def enqueue(s: Session, notice: Notice) -> int:
    """Put batch jobs for the notice's queued deliveries and the banner on the queues."""
    jobs = enqueue_queued(s, notice)
    if notice.planning:  # the rest of the audience is planned range by range, by jobs
        queues.queue("control").enqueue(queues.PLAN_NOTICE, notice.id)
    if notice.state == "scheduled" and notice.scheduled_at is not None:
        # RQ's scheduler starts it on time; the reconciler starts it too if Redis lost the job.
        queues.queue("control").enqueue_at(notice.scheduled_at, queues.START_SCHEDULED)
        return 0
    queues.publish_banner_soon()
    return jobs


def enqueue_queued(s: Session, notice: Notice) -> int:
    """Enqueue jobs for every queued delivery of a notice (after resume or reroute)."""
    jobs = 0
    # Fastest channels first: an email batch should not wait behind a rate-bound SMS batch.
    rates = current_app.config["RATES"]
    for channel in sorted(SUBSCRIPTION_CHANNELS, key=lambda c: -rates[c]):
        jobs += enqueue_ids(notice.id, channel, deliveries.queued_ids(s, notice.id, channel))
    return jobs


