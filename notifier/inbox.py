"""What customers write that is not a keyword: kept for a person to read in the console."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import InboxMessage, Subscription

MAX_TEXT = 2000


def record(s: Session, channel: str, address: str, text: str) -> InboxMessage:
    """Keep one message, linked to the subscriber who has that address (if any)."""
    subscriber_id = s.scalar(select(Subscription.subscriber_id).where(
        Subscription.channel == channel, Subscription.address == address)
        .order_by(Subscription.id).limit(1))
    message = InboxMessage(channel=channel, address=address, subscriber_id=subscriber_id,
                           text=text[:MAX_TEXT], received_at=utcnow())
    s.add(message)
    s.flush()
    return message


def messages(s: Session, *, handled: bool = False, limit: int = 200) -> list[InboxMessage]:
    """Return the newest messages, unhandled (default) or handled."""
    done = InboxMessage.handled_at.is_not(None) if handled else InboxMessage.handled_at.is_(None)
    return list(s.scalars(select(InboxMessage).where(done)
                          .order_by(InboxMessage.received_at.desc()).limit(limit)))


def unhandled(s: Session) -> int:
    """Count the messages nobody has marked handled."""
    return int(s.scalar(select(func.count()).select_from(InboxMessage)
                        .where(InboxMessage.handled_at.is_(None))) or 0)


def mark_handled(s: Session, message_id: int, who: str) -> bool:
    """Mark a message handled by someone; False when there is no such message."""
    message = s.get(InboxMessage, message_id)
    if message is None:
        return False
    if message.handled_at is None:
        message.handled_at, message.handled_by = utcnow(), who
    return True
