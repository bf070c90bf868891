"""Send one batch of deliveries: claim, rate-limit, send through the adapter, record outcomes.

Every change of a delivery's status goes through notifier.deliveries (the one state machine);
this module decides when: per chunk of about a tenth of a second of the provider's allowance, it
checks that the notice still goes out and that the claim still holds, asks the provider's circuit
and the shared rate limiter, sends, and records what the provider answered.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from flask import Flask, current_app
from sqlalchemy import select

from notifier import circuit, db, deliveries, enqueueing, progress, queues
from notifier.channels import make_adapter
from notifier.channels.base import ChannelAdapter, Message, Outcome, Result
from notifier.deliveries import Claim, Claimed
from notifier.models import Notice, utcnow
from workers.ratelimit import RateLimiter

log = logging.getLogger(__name__)
STOPPED_STATES = ("cancelled", "superseded")
CHUNK_SECONDS = 0.1  # a chunk spends a tenth of a second of the provider's allowance
MAX_CHUNK = 1000     # SendGrid's recipients per request
Item = tuple[Claimed, Message, float]


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
                    deliveries.renew(s, self.token, _lease(self.app))
            except Exception:
                log.warning("could not renew a lease; retrying", exc_info=True)


def _lease(app: Flask) -> datetime:
    return utcnow() + timedelta(seconds=float(app.config["LEASE_SECONDS"]))


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


def chunks(items: Sequence[Item], rate: float) -> Iterator[list[Item]]:
    """Cut the batch into chunks of about CHUNK_SECONDS of allowance, counted in cost units."""
    budget = max(1.0, rate * CHUNK_SECONDS)
    chunk: list[Item] = []
    spent = 0.0
    for item in items:
        if chunk and (spent + item[2] > budget or len(chunk) >= MAX_CHUNK):
            yield chunk
            chunk, spent = [], 0.0
        chunk.append(item)
        spent += item[2]
    if chunk:
        yield chunk


def _refusal(notice: Notice | None) -> str | None:
    if notice is None:
        return "the notice does not exist"
    if notice.state in STOPPED_STATES or notice.state == "paused":
        return f"the notice is {notice.state}"
    return None


def deliver_batch(notice_id: int, channel: str, first: int, last: int) -> dict[str, int]:
    """Send the queued deliveries of one id range; return counts per result."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with db.transaction() as s:
        notice = s.get(Notice, notice_id)
        refusal = _refusal(notice)
        if notice is None or refusal:
            log.info("job notice %d %s %d-%d dropped: %s", notice_id, channel, first, last, refusal)
            return {}
        batch = deliveries.claim(s, notice_id, channel, first, last, _lease(app))
        rendered = notice.rendered
    if not batch.deliveries:
        log.info("job notice %d %s %d-%d dropped: nothing queued in the range (taken by another "
                 "job, or already sent)", notice_id, channel, first, last)
        return {}
    cfg = app.config
    settings = cfg["PROVIDERS"][circuit.PROVIDERS[channel]]
    limiter = RateLimiter(queues.redis(), settings.name, settings.api_url or settings.name,
                          cfg["RATES"][channel])
    adapter = make_adapter(channel, settings, cfg)
    totals: dict[str, int] = {}
    items = [(c, m, cost(rendered, channel, m)) for c in batch.deliveries
             for m in [message_for(rendered, channel, c)]]
    try:
        with LeaseKeeper(app, batch.token):
            _send_chunks(Batch(adapter, limiter, notice_id, channel, batch), items, totals)
    finally:
        adapter.close()
    with db.transaction() as s:
        progress.complete_finished(s, notice_id)
    return totals


class Batch:
    """One job's claim on a notice's deliveries, with what it sends them through."""

    def __init__(self, adapter: ChannelAdapter, limiter: RateLimiter, notice_id: int,
                 channel: str, claim: Claim) -> None:
        self.adapter, self.limiter, self.claim = adapter, limiter, claim
        self.notice_id, self.channel = notice_id, channel
        self.provider = circuit.PROVIDERS[channel]


def _send_chunks(b: Batch, items: list[Item], totals: dict[str, int]) -> None:
    done = 0
    for chunk in chunks(items, b.limiter.rate):
        rest = [c.id for c, _m, _cost in items[done:]]
        if not _may_go_on(b, rest):
            return
        breaker = circuit.state(queues.redis(), b.provider)
        if breaker.is_open:
            with db.transaction() as s:
                deliveries.hold(s, b.claim.token, rest, datetime.fromtimestamp(
                    breaker.open_until, tz=UTC), "provider failing: held until the circuit closes")
            return
        b.limiter.acquire(sum(cost_ for _d, _m, cost_ in chunk))
        outcomes = b.adapter.send([m for _d, m, _c in chunk])
        _record(b, outcomes, {d.id: d.attempts for d, _m, _c in chunk})
        for o in outcomes:
            totals[o.result.value] = totals.get(o.result.value, 0) + 1
        done += len(chunk)


def _may_go_on(b: Batch, rest: list[int]) -> bool:
    """Check, before a chunk, that the notice still goes out and that the claim still holds.

    A paused notice hands the rest back, a stopped one cancels it; a batch whose claim another
    worker has taken over (its lease ran out) stops, so a duplicate is at most one chunk.
    """
    with db.transaction() as s:
        state = s.scalar(select(Notice.state).where(Notice.id == b.notice_id))
        if state in STOPPED_STATES:
            deliveries.stop(s, b.claim.token, rest, f"notice {state}")
            return False
        if state == "paused":
            deliveries.release(s, b.claim.token, rest)
            return False
        owned = deliveries.still_owned(s, b.claim.token, rest)
    if len(owned) < len(rest):
        log.warning("notice %d %s: the batch lost its claim on %d deliveries; stopping",
                    b.notice_id, b.channel, len(rest) - len(owned))
        return False
    return True


def _record(b: Batch, outcomes: Sequence[Outcome], attempts: dict[int, int]) -> None:
    """Record a chunk's outcomes, feed the circuit and the limiter, send failures by fallback."""
    for o in outcomes:
        if o.result is Result.RETRY and o.retry_after:
            b.limiter.pause(o.retry_after)
    fallbacks: list[int] = []
    with db.transaction() as s:
        recorded = deliveries.record(s, b.claim.token, outcomes,
                                     deliveries.policy_of(s, b.notice_id), attempts)
        failed = recorded.failed + recorded.opted_out
        notice = s.get(Notice, b.notice_id) if failed else None
        if notice is not None:
            fallbacks = deliveries.fall_back(s, notice, b.channel, failed)
            target = (notice.fallback or {}).get(b.channel, "")
    circuit.observe(queues.redis(), b.provider, list(outcomes))
    if fallbacks:
        enqueueing.enqueue_ids(b.notice_id, target, fallbacks)
