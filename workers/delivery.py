"""Send one batch of deliveries: claim, rate-limit, send through the adapter, record outcomes."""
from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from flask import Flask, current_app
from sqlalchemy import bindparam, case, select, update
from sqlalchemy.orm import Session

from notifier import circuit, control, db, dispatch, queues, unsubscribe
from notifier.channels import make_adapter
from notifier.channels.base import ChannelAdapter, Message, Outcome, Result
from notifier.models import Delivery, DeliveryStatus, Notice, Subscription, utcnow
from workers.ratelimit import RateLimiter

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
PROVIDERS = {"sms": "twilio", "email": "sendgrid", "telegram": "telegram"}
STOPPED_STATES = ("cancelled", "superseded")
CHUNK_SECONDS = 0.1  # a chunk spends a tenth of a second of the provider's allowance
MAX_CHUNK = 1000     # SendGrid's recipients per request


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker owns while its claim holds."""

    id: int
    address: str
    language: str
    attempts: int
    subscription_id: int | None = None


@dataclass
class Claim:
    """The deliveries one batch job took, and the token that proves it still owns them."""

    token: str
    deliveries: list[Claimed] = field(default_factory=list)

    def owned(self) -> Any:
        """Return the SQL condition "still sending under this claim"."""
        return (Delivery.claim_token == self.token) & (
            Delivery.status == DeliveryStatus.SENDING.value)


def claim(notice_id: int, channel: str, first: int, last: int) -> Claim:
    """Move the range's queued deliveries to sending under a new claim token, atomically."""
    token = uuid.uuid4().hex
    lease = utcnow() + timedelta(seconds=current_app.config["LEASE_SECONDS"])
    with db.transaction() as s:
        rows = s.execute(
            update(Delivery)
            .where(Delivery.notice_id == notice_id, Delivery.channel == channel,
                   Delivery.id.between(first, last),
                   Delivery.status == DeliveryStatus.QUEUED.value)
            .values(status=DeliveryStatus.SENDING.value, lease_until=lease, claim_token=token,
                    attempts=Delivery.attempts + 1, updated_at=utcnow())
            .returning(Delivery.id, Delivery.address, Delivery.language,
                       Delivery.attempts, Delivery.subscription_id)).all()
    return Claim(token, sorted((Claimed(*r) for r in rows), key=lambda c: c.id))


class LeaseKeeper:
    """Renew a claim's lease from a thread of its own while the batch runs.

    A chunk can outlast the lease (provider timeouts, Retry-After pauses); without renewal the
    reconciler would hand live deliveries to another worker and they would go out twice.
    """

    def __init__(self, app: Flask, token: str) -> None:
        self.app, self.token, self.stop = app, token, threading.Event()
        self.every = max(0.2, float(app.config["LEASE_SECONDS"]) / 3)
        self.thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                with self.app.app_context(), db.transaction() as s:
                    lease = utcnow() + timedelta(seconds=self.app.config["LEASE_SECONDS"])
                    s.execute(update(Delivery).where(Claim(self.token).owned())
                              .values(lease_until=lease))
            except Exception:
                log.warning("could not renew a lease; retrying", exc_info=True)


def message_for(rendered: dict[str, Any], channel: str, c: Claimed) -> Message:
    """Build the adapter message from the notice's rendered snapshot."""
    per_lang = rendered.get(c.language) or rendered.get("sv") or next(iter(rendered.values()))
    r = per_lang[channel]
    leave = unsubscribe.url(c.subscription_id) if channel == "email" and c.subscription_id \
        else None
    return Message(c.id, c.address, c.language, r["text"], r.get("subject"), r.get("html"),
                   unsubscribe_url=leave)


def cost(rendered: dict[str, Any], channel: str, m: Message) -> float:
    """Return what one message costs against the provider's allowance (SMS: segments)."""
    if channel != "sms":
        return 1.0
    info = (rendered.get(m.language) or rendered["sv"])["sms"].get("sms") or {}
    return float(info.get("segments", 1))


def chunks(items: Sequence[tuple[Claimed, Message, float]],
           rate: float) -> Iterator[list[tuple[Claimed, Message, float]]]:
    """Cut the batch into chunks of about CHUNK_SECONDS of allowance, counted in cost units."""
    budget = max(1.0, rate * CHUNK_SECONDS)
    chunk: list[tuple[Claimed, Message, float]] = []
    spent = 0.0
    for item in items:
        if chunk and (spent + item[2] > budget or len(chunk) >= MAX_CHUNK):
            yield chunk
            chunk, spent = [], 0.0
        chunk.append(item)
        spent += item[2]
    if chunk:
        yield chunk


def deliver_batch(notice_id: int, channel: str, first: int, last: int) -> dict[str, int]:
    """Send the queued deliveries of one id range; return counts per result."""
    notice = db.session().get(Notice, notice_id)
    if notice is None or notice.state in STOPPED_STATES or notice.state == "paused":
        return {}
    rendered = notice.rendered
    db.session().close()
    batch = claim(notice_id, channel, first, last)
    if not batch.deliveries:
        return {}
    cfg = current_app.config
    settings = cfg["PROVIDERS"][PROVIDERS[channel]]
    limiter = RateLimiter(queues.redis(), settings.name, settings.api_url or settings.name,
                          cfg["RATES"][channel], burst_seconds=CHUNK_SECONDS)
    adapter = make_adapter(channel, settings, cfg)
    totals: dict[str, int] = {}
    items = [(c, m, cost(rendered, channel, m)) for c in batch.deliveries
             for m in [message_for(rendered, channel, c)]]
    try:
        with LeaseKeeper(current_app._get_current_object(), batch.token):  # type: ignore[attr-defined]
            _send_chunks(adapter, limiter, notice_id, channel, batch, items, totals)
    finally:
        adapter.close()
    with db.transaction() as s:
        dispatch.complete_finished(s, notice_id)
    return totals


def _send_chunks(adapter: ChannelAdapter, limiter: RateLimiter, notice_id: int, channel: str,
                 batch: Claim, items: list[tuple[Claimed, Message, float]],
                 totals: dict[str, int]) -> None:
    provider = PROVIDERS[channel]
    done = 0
    for chunk in chunks(items, limiter.rate):
        rest = [c for c, _m, _cost in items[done:]]
        state = _notice_state(notice_id)
        if state in STOPPED_STATES or state == "paused":
            release(batch, rest, DeliveryStatus.QUEUED if state == "paused"
                    else DeliveryStatus.CANCELLED)
            return
        breaker = circuit.state(queues.redis(), provider)
        if breaker.is_open:
            hold(batch, rest, breaker.open_until)
            return
        limiter.acquire(sum(c for _d, _m, c in chunk))
        outcomes = adapter.send([m for _d, m, _c in chunk])
        record(outcomes, batch.token, limiter, {d.id: d.attempts for d, _m, _c in chunk})
        circuit.observe(queues.redis(), provider, outcomes)
        fall_back(notice_id, channel, [o.delivery_id for o in outcomes
                                       if o.result in (Result.FAILED, Result.OPTED_OUT)])
        for o in outcomes:
            totals[o.result.value] = totals.get(o.result.value, 0) + 1
        done += len(chunk)


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


def release(batch: Claim, rest: Sequence[Claimed], to: DeliveryStatus) -> None:
    """Hand deliveries this worker will not send back (paused) or cancel them."""
    with db.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id.in_([c.id for c in rest]), batch.owned())
                  .values(status=to.value, lease_until=None, updated_at=utcnow()))


def hold(batch: Claim, rest: Sequence[Claimed], until: float) -> None:
    """Park deliveries while a provider's circuit is open; the attempt does not count."""
    when = datetime.fromtimestamp(until, tz=UTC)
    with db.transaction() as s:
        s.execute(update(Delivery).where(Delivery.id.in_([c.id for c in rest]), batch.owned())
                  .values(status=DeliveryStatus.RETRY_WAIT.value, next_attempt_at=when,
                          lease_until=None, attempts=Delivery.attempts - 1, updated_at=utcnow(),
                          error="provider failing: held until the circuit closes"))


def backoff(attempt: int, retry_after: float | None) -> float:
    """Seconds until the next attempt: the provider's word, or exponential with jitter."""
    if retry_after:
        return retry_after
    return min(300.0, 2.0 ** attempt) * (0.5 + random.random() / 2)


def record(outcomes: Sequence[Outcome], token: str, limiter: RateLimiter | None = None,
           attempts: dict[int, int] | None = None) -> None:
    """Write every outcome in bulk, under the claim that sent it, naming the state it leaves.

    Outcomes with the same values go in one UPDATE ... WHERE id IN (...); a row that another
    claim has taken over since (its lease ran out) is left alone.
    """
    now = utcnow()
    attempts = attempts or {}
    groups: dict[tuple[Any, ...], list[int]] = {}
    opted_out: list[int] = []
    retried: list[int] = []
    for o in outcomes:
        groups.setdefault(_transition(o, now, attempts.get(o.delivery_id, 1)), []).append(
            o.delivery_id)
        if o.result is Result.OPTED_OUT:
            opted_out.append(o.delivery_id)
        if o.result is Result.RETRY:
            retried.append(o.delivery_id)
            if o.retry_after and limiter is not None:
                limiter.pause(o.retry_after)
    owned = Claim(token).owned()
    singles: dict[str, list[dict[str, Any]]] = {}
    with db.transaction() as s:
        for (status, pid, code, err, nxt), ids in groups.items():
            if len(ids) == 1:  # a provider id of its own: batched below, one statement per status
                singles.setdefault(status, []).append(
                    {"b_id": ids[0], "b_pid": pid, "b_code": code, "b_err": err, "b_next": nxt})
                continue
            s.execute(update(Delivery).where(Delivery.id.in_(ids), owned)
                      .values(**_values(status, now, pid, code, err, nxt)))
        for status, params in singles.items():
            values = _values(status, now, bindparam("b_pid"), bindparam("b_code"),
                             bindparam("b_err"), bindparam("b_next"))
            s.connection().execute(update(Delivery).where(Delivery.id == bindparam("b_id"), owned)
                                   .values(**values), params)
        if opted_out:
            subs = select(Delivery.subscription_id).where(Delivery.id.in_(opted_out))
            # A Telegram refusal is a blocked bot: that chat only, not the person's other channels.
            blocked = Subscription.channel == "telegram"
            s.execute(update(Subscription).where(Subscription.id.in_(subs))
                      .values(status=case((blocked, "blocked"), else_="opted_out"),
                              status_reason=case((blocked, "blocked the Telegram bot"),
                                                 else_="the provider says the recipient opted out"),
                              updated_at=now))
        _give_up(s, retried, now)


def _values(status: str, now: datetime, pid: Any, code: Any, err: Any, nxt: Any) -> dict[str, Any]:
    values = {"status": status, "provider_id": pid, "error_code": code, "error": err,
              "next_attempt_at": nxt, "lease_until": None, "updated_at": now}
    if status == DeliveryStatus.SENT.value:
        values["sent_at"] = now
    return values


def _transition(o: Outcome, now: datetime, attempt: int) -> tuple[Any, ...]:
    """Return (status, provider id, error code, error, next attempt) for one outcome."""
    err = o.error[:300] if o.error else None
    if o.result is Result.SENT:
        return DeliveryStatus.SENT.value, o.provider_id, None, None, None
    if o.result is Result.RETRY:
        # Whole seconds: outcomes retried together share one UPDATE.
        delay = round(backoff(attempt, o.retry_after))
        return (DeliveryStatus.RETRY_WAIT.value, o.provider_id, o.error_code, err,
                now.replace(microsecond=0) + timedelta(seconds=max(1, delay)))
    if o.result is Result.OPTED_OUT:
        return DeliveryStatus.SKIPPED.value, o.provider_id, o.error_code, err, None
    return DeliveryStatus.FAILED.value, o.provider_id, o.error_code, err, None


def _give_up(s: Session, ids: list[int], now: datetime) -> None:
    """Fail deliveries that have used up their attempts instead of retrying forever."""
    if not ids:
        return
    s.execute(update(Delivery).where(Delivery.id.in_(ids),
                                     Delivery.status == DeliveryStatus.RETRY_WAIT.value,
                                     Delivery.attempts >= MAX_ATTEMPTS)
              .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None, updated_at=now,
                      error=f"gave up after {MAX_ATTEMPTS} attempts"))
