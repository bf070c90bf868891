"""The delivery state machine: every change of a delivery's status, as guarded set-based UPDATEs."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import db
from .models import Delivery, DeliveryStatus, utcnow

UNSENT = (DeliveryStatus.QUEUED.value, DeliveryStatus.RETRY_WAIT.value)


def cancel_unsent(s: Session, notice_ids: Any, reason: str) -> int:
    """Cancel the deliveries of these notices that have not gone out yet."""
    result = s.execute(update(Delivery)
                       .where(Delivery.notice_id.in_(notice_ids), Delivery.status.in_(UNSENT))
                       .values(status=DeliveryStatus.CANCELLED.value, updated_at=utcnow(),
                               next_attempt_at=None, error=reason))
    return db.rowcount(result)
