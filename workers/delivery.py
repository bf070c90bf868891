"""Send one batch of deliveries: claim, rate-limit, send through the adapter, record outcomes."""
from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update

from notifier import control, db, dispatch, queues
from notifier.models import Delivery, DeliveryStatus, Notice, Subscription, utcnow
from workers import circuit
from workers.channels import make_adapter
from workers.channels.base import ChannelAdapter, Message, Outcome, Result
from workers.ratelimit import RateLimiter

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
PROVIDERS = {"sms": "twilio", "email": "sendgrid", "telegram": "telegram"}
STOPPED_STATES = ("cancelled", "superseded")


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker owns until its lease ends."""

    id: int
    address: str
    language: str
    attempts: int


def claim(notice_id: int, channel: str, first: int, last: int) -> list[Claimed]:
    """Move the range's queued deliveries to sending, atomically, and return them."""
    lease = utcnow() + timedelta(seconds=current_app.config["LEASE_SECONDS"])
    with db.transaction() as s:
        rows = s.execute(
            update(Delivery)
            .where(Delivery.notice_id == notice_id, Delivery.channel == channel,
                   Delivery.id.between(first, last),
                   Delivery.status == DeliveryStatus.QUEUED.value)
            .values(status=DeliveryStatus.SENDING.value, lease_until=lease,
                    attempts=Delivery.attempts + 1, updated_at=utcnow())
            .returning(Delivery.id, Delivery.address, Delivery.language,
                       Delivery.attempts)).all()
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


def message_for(rendered: dict[str, Any], channel: str, c: Claimed) -> Message:
    """Build the adapter message from the notice's rendered snapshot."""
    per_lang = rendered.get(c.language) or rendered.get("sv") or next(iter(rendered.values()))
    r = per_lang[channel]
    return Message(c.id, c.address, c.language, r["text"], r.get("subject"), r.get("html"))


def cost(rendered: dict[str, Any], channel: str, m: Message) -> float:
    """Return what one message costs against the provider's allowance (SMS: segments)."""
    if channel != "sms":
        return 1.0
    info = (rendered.get(m.language) or rendered["sv"])["sms"].get("sms") or {}
    return float(info.get("segments", 1))


def deliver_batch(notice_id: int, channel: str, first: int, last: int) -> dict[str, int]:
    """Send the queued deliveries of one id range; return counts per result."""
    notice = db.session().get(Notice, notice_id)
    if notice is None or notice.state in STOPPED_STATES or notice.state == "paused":
        return {}
    claimed = claim(notice_id, channel, first, last)
    if not claimed:
        return {}
    rendered = notice.rendered
    cfg = current_app.config
    rate = cfg["RATES"][channel]
    settings = cfg["PROVIDERS"][PROVIDERS[channel]]
    limiter = RateLimiter(queues.redis(), settings.name, settings.api_url or settings.name, rate)
    adapter = make_adapter(channel, settings, cfg)
    totals: dict[str, int] = {}
    try:
        _send_chunks(adapter, limiter, notice_id, channel, rendered, claimed, totals)
    finally:
        adapter.close()
        db.session().close()
    with db.transaction() as s:
        dispatch.complete_finished(s, notice_id)
    return totals


def _send_chunks(adapter: ChannelAdapter, limiter: RateLimiter, notice_id: int, channel: str,
                 rendered: dict[str, Any], claimed: list[Claimed], totals: dict[str, int]) -> None:
    size = max(1, min(1000, int(limiter.rate)))
    provider = PROVIDERS[channel]
    for start in range(0, len(claimed), size):
        chunk = claimed[start:start + size]
        state = _notice_state(notice_id)
        if state in STOPPED_STATES or state == "paused":
            release(claimed[start:], DeliveryStatus.QUEUED if state == "paused"
                    else DeliveryStatus.CANCELLED)
            return
        breaker = circuit.state(queues.redis(), provider)
        if breaker.is_open:
            hold(claimed[start:], breaker.open_until)
            return
        renew_lease(claimed[start:])
        messages = [message_for(rendered, channel, c) for c in chunk]
        limiter.acquire(sum(cost(rendered, channel, m) for m in messages))
        outcomes = adapter.send(messages)
        record(outcomes, limiter, {c.id: c.attempts for c in chunk})
        circuit.observe(queues.redis(), provider, outcomes)
        fall_back(notice_id, channel, [o.delivery_id for o in outcomes
                                       if o.result in (Result.FAILED, Result.OPTED_OUT)])
        for o in outcomes:
            totals[o.result.value] = totals.get(o.result.value, 0) + 1


def fall_back(notice_id: int, channel: str, ids: list[int]) -> int:
    """Send failed or blocked deliveries again on the notice's fallback channel, if it has one."""
    if not ids:
        return 0
    with db.transaction() as s:
        notice = s.get(Notice, notice_id)
        target = (notice.fallback or {}).get(channel) if notice else None
        if notice is None or not target:
            return 0
        control.reroute(s, notice, ids, target)
        new = list(s.scalars(select(Delivery.id).where(
            Delivery.notice_id == notice_id, Delivery.fallback_of.in_(ids),
            Delivery.status == DeliveryStatus.QUEUED.value).order_by(Delivery.id)))
    dispatch.enqueue_ids(notice_id, target, new)
    return len(new)


def _notice_state(notice_id: int) -> str:
    with db.transaction() as s:
        return str(s.scalar(select(Notice.state).where(Notice.id == notice_id)))


def renew_lease(claimed: Sequence[Claimed]) -> None:
    """Extend the lease of deliveries still being worked on."""
    lease = utcnow() + timedelta(seconds=current_app.config["LEASE_SECONDS"])
    with db.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id.in_([c.id for c in claimed]),
                                         Delivery.status == DeliveryStatus.SENDING.value)
                  .values(lease_until=lease))


def release(claimed: Sequence[Claimed], to: DeliveryStatus) -> None:
    """Hand deliveries this worker will not send back (paused) or cancel them."""
    with db.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id.in_([c.id for c in claimed]),
                                         Delivery.status == DeliveryStatus.SENDING.value)
                  .values(status=to.value, lease_until=None, updated_at=utcnow()))


def hold(claimed: Sequence[Claimed], until: float) -> None:
    """Park deliveries while a provider's circuit is open; the attempt does not count."""
    when = datetime.fromtimestamp(until, tz=UTC)
    with db.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id.in_([c.id for c in claimed]),
                                         Delivery.status == DeliveryStatus.SENDING.value)
                  .values(status=DeliveryStatus.RETRY_WAIT.value, next_attempt_at=when,
                          lease_until=None, attempts=Delivery.attempts - 1, updated_at=utcnow(),
                          error="provider failing: held until the circuit closes"))


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds until the next attempt: the provider's word, or exponential with jitter."""
    if retry_after:
        return retry_after
    return min(300.0, 2.0 ** attempt) * (0.5 + random.random() / 2)


def record(outcomes: Sequence[Outcome], limiter: RateLimiter | None = None,
           attempts: dict[int, int] | None = None) -> None:
    """Write every outcome in bulk, each update naming the state it leaves."""
    now = utcnow()
    attempts = attempts or {}
    rows: dict[str, list[dict[str, Any]]] = {}
    opted_out: list[int] = []
    for o in outcomes:
        status, extra = _transition(o, now, attempts.get(o.delivery_id, 1))
        rows.setdefault(status, []).append({"b_id": o.delivery_id, **extra})
        if o.result is Result.OPTED_OUT:
            opted_out.append(o.delivery_id)
        if o.result is Result.RETRY and o.retry_after and limiter is not None:
            limiter.pause(o.retry_after)
    with db.transaction() as s:
        for status, params in rows.items():
            _bulk_update(s, status, params, now)
        if opted_out:
            subs = select(Delivery.subscription_id).where(Delivery.id.in_(opted_out))
            s.execute(update(Subscription).where(Subscription.id.in_(subs))
                      .values(status="opted_out", updated_at=now))
        _give_up(s, [p["b_id"] for p in rows.get(DeliveryStatus.RETRY_WAIT.value, [])], now)


def _transition(o: Outcome, now: datetime, attempt: int) -> tuple[str, dict[str, Any]]:
    base: dict[str, Any] = {"b_pid": o.provider_id, "b_code": o.error_code, "b_err": (o.error or None)
            and o.error[:300], "b_next": None}
    if o.result is Result.SENT:
        return DeliveryStatus.SENT.value, base
    if o.result is Result.RETRY:
        base["b_next"] = now + timedelta(seconds=backoff(attempt, o.retry_after))
        return DeliveryStatus.RETRY_WAIT.value, base
    if o.result is Result.OPTED_OUT:
        return DeliveryStatus.SKIPPED.value, base
    return DeliveryStatus.FAILED.value, base


def _bulk_update(s: Any, status: str, params: list[dict[str, Any]], now: datetime) -> None:
    values: dict[str, Any] = {"status": status, "provider_id": bindparam("b_pid"),
                              "error_code": bindparam("b_code"), "error": bindparam("b_err"),
                              "next_attempt_at": bindparam("b_next"), "lease_until": None,
                              "updated_at": now}
    if status == DeliveryStatus.SENT.value:
        values["sent_at"] = now
    stmt = (update(Delivery).where(Delivery.id == bindparam("b_id"),
                                   Delivery.status == DeliveryStatus.SENDING.value)
            .values(**values))
    s.connection().execute(stmt, params)


def _give_up(s: Any, ids: list[int], now: datetime) -> None:
    """Fail deliveries that have used up their attempts instead of retrying forever."""
    if not ids:
        return
    s.execute(update(Delivery).where(Delivery.id.in_(ids),
                                     Delivery.status == DeliveryStatus.RETRY_WAIT.value,
                                     Delivery.attempts >= MAX_ATTEMPTS)
              .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None, updated_at=now,
                      error=f"gave up after {MAX_ATTEMPTS} attempts"))
