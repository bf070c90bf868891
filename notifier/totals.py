"""Per-notice totals: what each notice reached on each delivery channel, kept for reports.

Reports read these rows, not the deliveries, so they survive retention and erasure: whoever
prunes or erases delivery rows calls `freeze()` for the notices first, and from then on the
totals are final (a later refresh leaves a frozen row alone).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .models import Delivery, DeliveryStatus, NoticeTotal

# Deliveries that could have gone out: neither cancelled nor skipped before sending.
UNREACHABLE = (DeliveryStatus.CANCELLED.value, DeliveryStatus.SKIPPED.value)
FAILURES = (DeliveryStatus.FAILED.value, DeliveryStatus.UNDELIVERED.value,
            DeliveryStatus.SKIPPED.value)
SHARES = {"half_at": 0.5, "most_at": 0.9, "all_at": 1.0}


def refresh(s: Session, notice_ids: Iterable[int]) -> list[NoticeTotal]:
    """Recount the totals of these notices from their deliveries (frozen ones stay as they are)."""
    ids = sorted(set(notice_ids))
    frozen = set(s.execute(select(NoticeTotal.notice_id, NoticeTotal.channel)
                           .where(NoticeTotal.notice_id.in_(ids), NoticeTotal.frozen)).all())
    s.execute(delete(NoticeTotal).where(NoticeTotal.notice_id.in_(ids), ~NoticeTotal.frozen))
    rows = []
    for (notice_id, channel), counts in _counts(s, ids).items():
        if (notice_id, channel) in frozen:
            continue
        total = NoticeTotal(notice_id=notice_id, channel=channel, counts=counts,
                            failures=_failures(s, notice_id, channel), frozen=False,
                            updated_at=utcnow())
        _times(s, total)
        s.add(total)
        rows.append(total)
    s.flush()
    return rows


def freeze(s: Session, notice_ids: Iterable[int]) -> None:
    """Count these notices one last time and keep the totals from now on (before pruning)."""
    ids = sorted(set(notice_ids))
    refresh(s, ids)
    for total in s.scalars(select(NoticeTotal).where(NoticeTotal.notice_id.in_(ids))):
        total.frozen = True
    s.flush()


def of_notice(s: Session, notice_id: int) -> dict[str, NoticeTotal]:
    """Return a notice's totals per delivery channel, recounted unless frozen."""
    refresh(s, [notice_id])
    return {t.channel: t for t in s.scalars(
        select(NoticeTotal).where(NoticeTotal.notice_id == notice_id)
        .order_by(NoticeTotal.channel))}


def _counts(s: Session, ids: list[int]) -> dict[tuple[int, str], dict[str, int]]:
    found: dict[tuple[int, str], dict[str, int]] = {}
    for notice_id, channel, status, n in s.execute(
            select(Delivery.notice_id, Delivery.channel, Delivery.status, func.count())
            .where(Delivery.notice_id.in_(ids))
            .group_by(Delivery.notice_id, Delivery.channel, Delivery.status)):
        found.setdefault((notice_id, channel), {})[status] = int(n)
    return found


def _failures(s: Session, notice_id: int, channel: str) -> dict[str, int]:
    rows = s.execute(select(Delivery.error_code, Delivery.error, func.count())
                     .where(Delivery.notice_id == notice_id, Delivery.channel == channel,
                            Delivery.status.in_(FAILURES))
                     .group_by(Delivery.error_code, Delivery.error))
    return {f"{code or '-'}: {error or 'no reason given'}": int(n) for code, error, n in rows}


def _times(s: Session, total: NoticeTotal) -> None:
    """Find when the first message went, and when 50 %, 90 % and all of the reachable had gone."""
    reachable = sum(n for st, n in total.counts.items() if st not in UNREACHABLE)
    sent = (select(Delivery.sent_at).where(Delivery.notice_id == total.notice_id,
                                           Delivery.channel == total.channel,
                                           Delivery.sent_at.is_not(None))
            .order_by(Delivery.sent_at))
    total.first_sent_at = _nth(s, sent, 1)
    for column, share in SHARES.items():
        nth = max(1, math.ceil(reachable * share))
        setattr(total, column, _nth(s, sent, nth) if reachable else None)


def _nth(s: Session, ordered: Select[datetime | None], n: int) -> datetime | None:
    return s.scalar(ordered.offset(n - 1).limit(1))
