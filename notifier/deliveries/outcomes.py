"""What providers said: the outcome of each send (recorded in bulk) and receipts that come later."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from .. import retry
from ..channels.base import Outcome, Result
from ..models import Delivery, DeliveryStatus, Notice, Subscription, utcnow
from .machine import S, statement

STOPPED = ("cancelled", "superseded")


@dataclass(frozen=True)
class Policy:
    """What decides a retry for one notice: when to give up, and whether it was stopped."""

    deadline: datetime
    stopped: bool


def policy_of(s: Session, notice_id: int) -> Policy:
    """Read a notice's retry policy (its delivery deadline and whether it still goes out)."""
    notice = s.get(Notice, notice_id)
    if notice is None:
        return Policy(utcnow(), True)
    return Policy(notice.deadline(), notice.state in STOPPED)


@dataclass
class Recorded:
    """What a chunk's outcomes came to: ids that failed for good, and ids whose owner opted out."""

    failed: list[int] = field(default_factory=list)
    opted_out: list[int] = field(default_factory=list)


def _transition(o: Outcome, policy: Policy, attempt: int, now: datetime) -> tuple[Any, ...]:
    """Return (transition, provider id, code, error, next try) for one outcome."""
    err = o.error[:300] if o.error else None
    if o.result is Result.SENT:
        return "sent", o.provider_id, None, None, None
    if o.result is Result.OPTED_OUT:
        return "skip", o.provider_id, o.error_code, err, None
    if o.result is Result.FAILED:
        return "fail", o.provider_id, o.error_code, err, None
    if policy.stopped:
        return "stop", None, o.error_code, "notice stopped while the provider was failing", None
    when = retry.next_try(now, attempt, o.retry_after)
    if when > policy.deadline:
        return "fail", None, o.error_code, f"still failing at the delivery deadline: {err}"[:300], None
    return "retry", o.provider_id, o.error_code, err, when


def _values(name: str, now: datetime, pid: Any, code: Any, err: Any, nxt: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"provider_id": pid, "error_code": code, "error": err,
                              "next_attempt_at": nxt, "lease_until": None, "updated_at": now}
    if name != "stop":
        values["attempts"] = Delivery.attempts + 1
    if name == "sent":
        values["sent_at"] = now
    if name == "retry":
        values["first_failed_at"] = func.coalesce(Delivery.first_failed_at, now)
    return values


def record(s: Session, token: str, outcomes: Sequence[Outcome], policy: Policy,
           attempts: dict[int, int] | None = None) -> Recorded:
    """Write every outcome in bulk, under the claim that sent it, along the machine's edges.

    Outcomes with the same values go in one UPDATE ... WHERE id IN (...); those with a provider
    id of their own in one executemany per transition. A row another claim has taken over since
    (its lease ran out) is left alone.
    """
    now = utcnow()
    attempts = attempts or {}
    groups: dict[tuple[Any, ...], list[int]] = {}
    done = Recorded()
    for o in outcomes:
        key = _transition(o, policy, attempts.get(o.delivery_id, 0) + 1, now)
        groups.setdefault(key, []).append(o.delivery_id)
        (done.opted_out if key[0] == "skip" else done.failed if key[0] == "fail" else []).append(
            o.delivery_id)
    owned = (Delivery.claim_token == token) & (Delivery.status == S)
    singles: dict[str, list[dict[str, Any]]] = {}
    for (name, pid, code, err, nxt), ids in groups.items():
        if len(ids) == 1:
            singles.setdefault(name, []).append(
                {"b_id": ids[0], "b_pid": pid, "b_code": code, "b_err": err, "b_next": nxt})
            continue
        s.execute(statement(name, Delivery.id.in_(ids), owned,
                            **_values(name, now, pid, code, err, nxt)))
    for name, params in singles.items():
        values = _values(name, now, bindparam("b_pid"), bindparam("b_code"), bindparam("b_err"),
                         bindparam("b_next"))
        s.connection().execute(statement(name, Delivery.id == bindparam("b_id"), owned, **values),
                               params)
    if done.opted_out:
        subs = select(Delivery.subscription_id).where(Delivery.id.in_(done.opted_out))
        s.execute(update(Subscription).where(Subscription.id.in_(subs))
                  .values(status="opted_out", updated_at=now))
    return done


@dataclass(frozen=True)
class Receipt:
    """What a provider says about one message it was given."""

    channel: str
    status: DeliveryStatus  # SENT, DELIVERED or UNDELIVERED
    provider_id: str
    delivery_id: int | None = None
    address: str | None = None  # cross-check for deliveries matched by id
    error_code: str | None = None
    error: str | None = None
    # SendGrid's event ids only share a prefix with what the worker stored: match on id and address.
    check_provider_id: bool = True


def matching(r: Receipt) -> ColumnElement[bool]:
    """Return the SQL condition that finds the delivery a receipt is about."""
    if r.delivery_id is None:
        return and_(Delivery.channel == r.channel, Delivery.provider_id == r.provider_id)
    cond = and_(Delivery.id == r.delivery_id, Delivery.channel == r.channel)
    if r.check_provider_id:
        cond = and_(cond, or_(Delivery.provider_id.is_(None),
                              Delivery.provider_id == r.provider_id))
    if r.address:
        cond = and_(cond, func.lower(Delivery.address) == r.address.lower())
    return cond


RECEIPT_TRANSITIONS = {DeliveryStatus.SENT: "accepted", DeliveryStatus.DELIVERED: "delivered",
                       DeliveryStatus.UNDELIVERED: "undelivered"}


def receive(s: Session, r: Receipt) -> int | None:
    """Move the matching delivery forward; return its id, or None when nothing moved.

    A receipt may overtake the worker's own record of the send (written once per chunk), so
    receipts also leave `sending`; they never leave an end state.
    """
    now = utcnow()
    values: dict[str, Any] = {
        "updated_at": now, "lease_until": None,
        "provider_id": func.coalesce(Delivery.provider_id, r.provider_id),
        "sent_at": func.coalesce(Delivery.sent_at, now)}
    if r.status is DeliveryStatus.DELIVERED:
        values["delivered_at"] = now
    elif r.status is DeliveryStatus.UNDELIVERED:
        values.update(error_code=r.error_code, error=(r.error or "")[:300] or None)
    row = s.execute(statement(RECEIPT_TRANSITIONS[r.status], matching(r), **values)
                    .returning(Delivery.id)).first()
    return None if row is None else int(row[0])
