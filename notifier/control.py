"""Control of notices in flight: pause, resume, cancel, and rerouting to another delivery channel."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session, aliased

from . import audit, db, dispatch
from .deliveries import UNSENT, cancel_unsent
from .errors import NotifierError
from .models import SUBSCRIPTION_CHANNELS, Delivery, DeliveryStatus, Notice, Subscription, utcnow


class ControlError(NotifierError):
    """A notice cannot be paused, resumed, cancelled or rerouted as asked."""


def _notice(s: Session, notice_id: int) -> Notice:
    notice = s.get(Notice, notice_id)
    if notice is None:
        raise ControlError(f"No notice {notice_id}.")
    return notice


def pause(s: Session, notice_id: int, who: str) -> None:
    """Hold a notice: nothing more goes out until it is resumed (batches stop at the next chunk)."""
    notice = _notice(s, notice_id)
    if notice.state != "sending":
        raise ControlError(f"Notice {notice_id} is {notice.state}; only a notice being sent can be paused.")
    notice.state = "paused"
    audit.record(s, "notice.pause", f"notice:{notice_id}", who=who)


def resume(s: Session, notice_id: int, who: str) -> None:
    """Let a paused notice go on (the caller enqueues its queued deliveries after commit)."""
    notice = _notice(s, notice_id)
    if notice.state != "paused":
        raise ControlError(f"Notice {notice_id} is {notice.state}; only a paused notice can be resumed.")
    notice.state = "sending"
    audit.record(s, "notice.resume", f"notice:{notice_id}", who=who)


def cancel(s: Session, notice_id: int, who: str) -> int:
    """Stop a notice: what has not been sent is cancelled; return how many deliveries."""
    notice = _notice(s, notice_id)
    if notice.state not in ("sending", "paused", "scheduled"):
        raise ControlError(f"Notice {notice_id} is {notice.state}; there is nothing left to cancel.")
    notice.state = "cancelled"
    count = cancel_unsent(s, [notice_id], "notice cancelled")
    audit.record(s, "notice.cancel", f"notice:{notice_id}", who=who, cancelled=count)
    return count


def reroute(s: Session, notice: Notice, delivery_ids: Any, to_channel: str) -> int:
    """Create deliveries on another delivery channel for the subscribers of these deliveries.

    Only subscribers with an active subscription on that channel get one, and never a second
    delivery of the same notice on one channel (the unique key and NOT EXISTS both hold).
    """
    if to_channel not in SUBSCRIPTION_CHANNELS:
        raise ControlError(f"Unknown delivery channel {to_channel!r}.")
    if to_channel not in notice.rendered.get("sv", {}):
        raise ControlError(f"Notice {notice.id} has no {to_channel} wording; it cannot go there.")
    old, target, other = aliased(Subscription), aliased(Subscription), aliased(Delivery)
    already = exists().where(other.notice_id == notice.id, other.channel == to_channel,
                             other.address == target.address)
    # One row per target address, even when two of its subscribers shared the old address.
    source = (select(literal(notice.id), literal(to_channel), target.address,
                     func.min(Delivery.language), func.min(target.id),
                     literal(DeliveryStatus.QUEUED.value), func.min(Delivery.id))
              .join(old, old.id == Delivery.subscription_id)
              .join(target, and_(target.subscriber_id == old.subscriber_id,
                                 target.channel == to_channel, target.status == "active"))
              .where(Delivery.id.in_(delivery_ids), ~already)
              .group_by(target.address))
    s.execute(insert(Delivery).from_select(
        ["notice_id", "channel", "address", "language", "subscription_id", "status",
         "fallback_of"], source))
    # Counted, not taken from the driver: PostgreSQL reports -1 for this INSERT ... SELECT.
    created = aliased(Delivery)
    return int(s.scalar(select(func.count()).select_from(created).where(
        created.notice_id == notice.id, created.channel == to_channel,
        created.fallback_of.in_(delivery_ids))) or 0)


def send_rest_by(s: Session, notice_id: int, from_channel: str, to_channel: str, who: str) -> tuple[int, int]:
    """Cancel what is unsent on one delivery channel and send it on another instead.

    Return (cancelled, created). Used when a provider is down: "send the rest by email".
    """
    notice = _notice(s, notice_id)
    if notice.state not in ("sending", "paused"):
        raise ControlError(f"Notice {notice_id} is {notice.state}; nothing is left to reroute.")
    unsent = list(s.scalars(select(Delivery.id).where(
        Delivery.notice_id == notice_id, Delivery.channel == from_channel,
        Delivery.status.in_(UNSENT))))
    if not unsent:
        return 0, 0
    created = reroute(s, notice, unsent, to_channel)
    cancelled = db.rowcount(s.execute(update(Delivery).where(Delivery.id.in_(unsent),
                                                            Delivery.status.in_(UNSENT))
                              .values(status=DeliveryStatus.CANCELLED.value, updated_at=utcnow(),
                                      next_attempt_at=None,
                                      error=f"sent by {to_channel} instead")))
    audit.record(s, "notice.reroute", f"notice:{notice_id}", who=who, from_channel=from_channel,
                 to_channel=to_channel, cancelled=cancelled, created=created)
    return cancelled, created


def act(notice_id: int, action: str, who: str, source: str = "", target: str = "email") -> str:
    """Run pause/resume/cancel/reroute in its own transaction, enqueue what it freed; say what happened."""
    from . import queues

    with db.transaction() as s:
        if action == "cancel":
            message = f"Notice {notice_id} is cancelled: {cancel(s, notice_id, who)} unsent deliveries stopped."
        elif action == "reroute":
            cancelled, created = send_rest_by(s, notice_id, source, target, who)
            message = (f"{cancelled} unsent {source} deliveries cancelled; {created} go by {target} "
                       "instead (people without a subscription there cannot be reached this way).")
        elif action in ("pause", "resume"):
            (pause if action == "pause" else resume)(s, notice_id, who)
            message = f"Notice {notice_id} is {action}d."
        else:
            raise ControlError(f"Unknown action {action!r}.")
    if action in ("resume", "reroute"):
        with db.transaction() as s:
            dispatch.enqueue_queued(s, _notice(s, notice_id))
    queues.publish_banner_soon()
    return message
