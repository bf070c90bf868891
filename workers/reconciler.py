"""Make sure every delivery ends sent, delivered or failed, whatever happened to Redis or a worker."""
from __future__ import annotations

import logging
import threading
from collections import defaultdict

from sqlalchemy import select, update

from notifier import banner, db, dispatch, queues, retention
from notifier.models import CHANNELS, Delivery, DeliveryStatus, Notice, utcnow

log = logging.getLogger(__name__)
PLANNED = dispatch.PLANNED
LOCK = "notifier:reconciler"
from workers.delivery import MAX_ATTEMPTS


def _return_to_queue(s: object) -> dict[tuple[int, str], list[int]]:
    """Requeue expired leases and due retries; return their ids per (notice, channel)."""
    now = utcnow()
    back: dict[tuple[int, str], list[int]] = defaultdict(list)
    for where in ((Delivery.status == DeliveryStatus.SENDING.value, Delivery.lease_until < now),
                  (Delivery.status == DeliveryStatus.RETRY_WAIT.value,
                   Delivery.next_attempt_at <= now)):
        rows = s.execute(update(Delivery).where(*where)  # type: ignore[attr-defined]
                         .values(status=DeliveryStatus.QUEUED.value, lease_until=None,
                                 next_attempt_at=None, updated_at=now)
                         .returning(Delivery.notice_id, Delivery.channel, Delivery.id)).all()
        for notice_id, channel, id_ in rows:
            back[(notice_id, channel)].append(id_)
    return back


def _fail_exhausted(s: object) -> int:
    result = s.execute(update(Delivery).where(  # type: ignore[attr-defined]
        Delivery.status == DeliveryStatus.QUEUED.value, Delivery.attempts >= MAX_ATTEMPTS)
        .values(status=DeliveryStatus.FAILED.value, updated_at=utcnow(),
                error=f"gave up after {MAX_ATTEMPTS} attempts"))
    return db.rowcount(result)


def _idle_channels() -> set[str]:
    """Return the delivery channels with no job waiting in RQ or running in a live worker."""
    from rq import Worker

    # Ask the workers, not StartedJobRegistry: a killed worker's job stays there for minutes.
    busy = set()
    for w in Worker.all(connection=queues.redis()):
        job = w.get_current_job()
        if job is not None and _alive(w):
            busy.add(job.origin)
    return {c for c in CHANNELS if c not in busy and queues.queue(c).count == 0}


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


def _orphans(s: object, planned: set[str]) -> dict[tuple[int, str], list[int]]:
    """Find queued deliveries that no job covers: not planned in Redis, or their queue is idle."""
    idle = _idle_channels()
    pairs = s.execute(select(Delivery.notice_id, Delivery.channel).where(  # type: ignore[attr-defined]
        Delivery.status == DeliveryStatus.QUEUED.value).group_by(Delivery.notice_id, Delivery.channel)).all()
    out: dict[tuple[int, str], list[int]] = {}
    for notice_id, channel in pairs:
        if f"{notice_id}:{channel}" not in planned or channel in idle:
            out[(notice_id, channel)] = list(s.scalars(select(Delivery.id).where(  # type: ignore[attr-defined]
                Delivery.notice_id == notice_id, Delivery.channel == channel,
                Delivery.status == DeliveryStatus.QUEUED.value).order_by(Delivery.id)))
    return out


def reconcile() -> dict[str, int]:
    """Requeue lost work and enqueue jobs for it; forget finished pairs. Return what it did."""
    r = queues.redis()
    if not r.set(LOCK, "1", nx=True, ex=30):
        return {"skipped": 1}
    try:
        dispatch.start_due_and_enqueue()
        with db.transaction() as s:
            back = _return_to_queue(s)
            failed = _fail_exhausted(s)
            planned = {m.decode() if isinstance(m, bytes) else m for m in r.smembers(PLANNED)}
            orphans = _orphans(s, planned)
            paused = set(s.scalars(select(Notice.id).where(Notice.state == "paused")))
        jobs = 0
        for (notice_id, channel), ids in {**back, **orphans}.items():
            if notice_id in paused:
                continue
            jobs += dispatch.enqueue_ids(notice_id, channel, sorted(ids))
        _forget_finished(planned)
        with db.transaction() as s:
            dispatch.complete_finished(s)
            banner.publish(s)
        return {"requeued": sum(len(v) for v in back.values()), "orphaned":
                sum(len(v) for v in orphans.values()), "failed": failed, "jobs": jobs}
    finally:
        r.delete(LOCK)


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
                retention.prune_if_due(queues.redis())  # at most hourly, across workers
            if done.get("requeued") or done.get("orphaned"):
                log.info("reconciler: %s", done)
        except Exception:
            log.exception("reconciler pass failed")
        stop.wait(every)
