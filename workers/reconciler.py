"""Make sure every delivery ends sent, delivered or failed, whatever happened to Redis or a worker."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

from flask import current_app
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier import (
    banner,
    db,
    deliveries,
    dispatch,
    enqueueing,
    idempotency,
    planner,
    progress,
    queues,
)
from notifier.models import SUBSCRIPTION_CHANNELS, Delivery, DeliveryStatus, Notice, utcnow

log = logging.getLogger(__name__)
PLANNED = enqueueing.PLANNED
LOCK = "notifier:reconciler"
LOCK_SECONDS = 30
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _idle_channels() -> set[str]:
    """Return the delivery channels with no job waiting in RQ or running in a live worker."""
    from rq import Worker

    # Ask the workers, not StartedJobRegistry: a killed worker's job stays there for minutes.
    busy = set()
    for w in Worker.all(connection=queues.redis()):
        job = w.get_current_job()
        if job is not None and _alive(w):
            busy.add(job.origin)
    return {c for c in SUBSCRIPTION_CHANNELS if c not in busy and queues.queue(c).count == 0}


def _alive(worker: object) -> bool:
    """Tell whether a registered worker still runs (only checkable on this host)."""
    import os
    import socket

    if getattr(worker, "hostname", None) != socket.gethostname():
        return True  # elsewhere: trust its registration until RQ's heartbeat TTL ends it
    pid = getattr(worker, "pid", None)
    try:
        os.kill(int(pid or 0), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return bool(pid)


def _orphans(s: Session, planned: set[str],
             back: dict[tuple[int, str], list[int]]) -> dict[tuple[int, str], list[int]]:
    """Find queued deliveries that no job covers: not planned in Redis, or their queue is idle.

    Those this pass has just requeued (`back`) get their jobs with them, not a second time.
    """
    idle = _idle_channels()
    pairs = s.execute(select(Delivery.notice_id, Delivery.channel).where(
        Delivery.status == DeliveryStatus.QUEUED.value)
        .group_by(Delivery.notice_id, Delivery.channel)).all()
    out: dict[tuple[int, str], list[int]] = {}
    for notice_id, channel in pairs:
        if f"{notice_id}:{channel}" not in planned or channel in idle:
            just_back = set(back.get((notice_id, channel), ()))
            ids = [i for i in deliveries.queued_ids(s, notice_id, channel) if i not in just_back]
            if ids:
                out[(notice_id, channel)] = ids
    return out


def reconcile() -> dict[str, int]:
    """Repair deliveries and enqueue jobs for work without one; forget finished pairs."""
    r = queues.redis()
    token = uuid.uuid4().hex
    if not r.set(LOCK, token, nx=True, ex=LOCK_SECONDS):
        return {"skipped": 1}
    try:
        return _pass(r)
    finally:
        # Only our own lock: a pass that outlived it must not free another reconciler's.
        r.eval(_RELEASE, 1, LOCK, token)


def _pass(r: Redis) -> dict[str, int]:
    dispatch.start_due_and_enqueue()
    after = timedelta(minutes=float(current_app.config["FALLBACK_AFTER"]))
    with db.transaction() as s:
        repaired = deliveries.repair(s, utcnow(), after)
        planned = {m.decode() if isinstance(m, bytes) else m for m in r.smembers(PLANNED)}
        orphans = _orphans(s, planned, repaired.back)
        paused = set(s.scalars(select(Notice.id).where(Notice.state == "paused")))
        stalled = planner.stalled(s)
        idempotency.forget_expired(s)
    for notice_id in stalled:  # a planning chain whose job Redis lost
        queues.queue("control").enqueue(queues.PLAN_NOTICE, notice_id)
    jobs = 0
    for pairs in (repaired.back, repaired.fallbacks, orphans):
        for (notice_id, channel), ids in pairs.items():
            if notice_id not in paused:
                jobs += enqueueing.enqueue_ids(notice_id, channel, sorted(ids))
    _forget_finished(planned)
    with db.transaction() as s:
        progress.complete_finished(s)
        banner.publish(s)
    return {**repaired.summary(), "orphaned": sum(len(v) for v in orphans.values()), "jobs": jobs}


def _forget_finished(planned: set[str]) -> None:
    if not planned:
        return
    with db.transaction() as s:
        busy = {f"{n}:{c}" for n, c in s.execute(
            select(Delivery.notice_id, Delivery.channel).where(Delivery.status.in_([
                DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value,
                DeliveryStatus.RETRY_WAIT.value])).group_by(Delivery.notice_id, Delivery.channel))}
    done = planned - busy
    if done:
        queues.redis().srem(PLANNED, *done)


def run_forever(app: object, every: float, stop: threading.Event) -> None:
    """Reconcile every few seconds until stop is set (a loop of its own, not an RQ job)."""
    while not stop.is_set():
        try:
            with app.app_context():  # type: ignore[attr-defined]
                done = reconcile()
            if any(done.get(k) for k in ("requeued", "orphaned", "fallbacks", "stopped",
                                             "given_up")):
                log.info("reconciler: %s", done)
        except Exception:
            log.exception("reconciler pass failed")
        stop.wait(every)
