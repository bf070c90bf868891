"""Queue jobs: each takes ids only and runs inside the worker's app context."""
from __future__ import annotations

from notifier import banner, db, dispatch, planner
from workers import delivery, reconciler
from workers.context import in_app_context


def deliver_batch(notice_id: int, channel: str, first_id: int, last_id: int) -> dict[str, int]:
    """Send the queued deliveries of a notice on one delivery channel within an id range."""
    return in_app_context(delivery.deliver_batch, notice_id, channel, first_id, last_id)


def _publish() -> bool:
    with db.transaction() as s:
        return banner.publish(s)


def publish_banner() -> bool:
    """Recompute the public banner and export it; True when it changed."""
    return in_app_context(_publish)


def reconcile() -> dict[str, int]:
    """Re-enqueue deliveries that lost their job or their worker."""
    return in_app_context(reconciler.reconcile)



def start_scheduled() -> int:
    """Start the scheduled notices whose time has come; return how many."""
    return in_app_context(dispatch.start_due_and_enqueue)


def plan_notice(notice_id: int) -> int:
    """Plan the next range of a notice's audience and enqueue its deliveries."""
    return in_app_context(planner.plan_next, notice_id)
