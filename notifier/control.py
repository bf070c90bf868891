"""Control of notices in flight: pause, resume, cancel, and rerouting to another delivery channel."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import audit, db, deliveries, enqueueing
from .errors import NotifierError
from .models import SUBSCRIPTION_CHANNELS, Notice


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
    count = deliveries.cancel_unsent(s, [notice_id], "notice cancelled")
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
    return deliveries.add_on_channel(s, notice, delivery_ids, to_channel)


def send_rest_by(s: Session, notice_id: int, from_channel: str, to_channel: str, who: str) -> tuple[int, int]:
    """Cancel what is unsent on one delivery channel and send it on another instead.

    Return (cancelled, created). Used when a provider is down: "send the rest by email".
    """
    notice = _notice(s, notice_id)
    if notice.state not in ("sending", "paused"):
        raise ControlError(f"Notice {notice_id} is {notice.state}; nothing is left to reroute.")
    unsent = deliveries.unsent_ids(s, notice_id, from_channel)
    if not unsent:
        return 0, 0
    created = reroute(s, notice, unsent, to_channel)
    # Those without an address on the other channel keep waiting for the first one.
    cancelled = deliveries.cancel(s, deliveries.covered(s, unsent, to_channel),
                                  f"sent by {to_channel} instead")
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
                       f"instead. Those with no {target} address stay on {source}.")
        elif action in ("pause", "resume"):
            (pause if action == "pause" else resume)(s, notice_id, who)
            message = f"Notice {notice_id} is {action}d."
        else:
            raise ControlError(f"Unknown action {action!r}.")
    if action in ("resume", "reroute"):
        with db.transaction() as s:
            enqueueing.enqueue_queued(s, _notice(s, notice_id))
    queues.publish_banner_soon()
    return message
