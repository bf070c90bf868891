"""Prometheus metrics: gauges read from the database and Redis at scrape time, counters kept in Redis.

Why not prometheus-client's multiprocess mode: it adds up the processes of one host that share
a folder, but the workers run on several machines and nobody scrapes them; only the web
processes answer /metrics. So what workers observe (provider latency and errors, rate-limiter
waits, reconciler actions) is tallied in Redis, which every process already shares, with one
pipelined round trip per chunk, and a custom collector reads those tallies, the delivery
counts, the queue depths and the circuit states when Prometheus scrapes. Any web process gives
the same answer.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import circuit, db, queues
from .channels.base import Outcome
from .models import Delivery, Incident, Notice, Proposal

PREFIX = "notifier:metrics:"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
PROVIDERS = ("twilio", "sendgrid", "telegram")
RECONCILER_ACTIONS = ("requeued", "orphaned", "fallbacks", "stopped", "given_up", "jobs")


def _bucket(value: float, bounds: Sequence[float]) -> str:
    return next((str(b) for b in bounds if value <= b), "+Inf")


def observe_chunk(redis: Redis, provider: str, waited: float, seconds: float,
                  outcomes: Sequence[Outcome]) -> None:
    """Tally one chunk a worker sent: its rate-limiter wait, the provider call time, the results."""
    pipe = redis.pipeline(transaction=False)
    latency, wait = f"{PREFIX}latency:{provider}", f"{PREFIX}wait:{provider}"
    pipe.hincrby(latency, _bucket(seconds, LATENCY_BUCKETS), 1)
    pipe.hincrbyfloat(latency, "sum", seconds)
    pipe.hincrby(wait, _bucket(waited, WAIT_BUCKETS), 1)
    pipe.hincrbyfloat(wait, "sum", waited)
    # One increment per kind of result, not per recipient: a chunk can hold a thousand emails.
    labels = Counter((o.result.value + (f":{o.error_code}" if o.error_code else ""))[:48]
                     for o in outcomes)
    for label, n in labels.items():
        pipe.hincrby(f"{PREFIX}results:{provider}", label, n)
    pipe.execute()


def count_reconcile(redis: Redis, done: dict[str, int]) -> None:
    """Tally what a reconciler pass did."""
    pipe = redis.pipeline(transaction=False)
    for action in RECONCILER_ACTIONS:
        if done.get(action):
            pipe.hincrby(f"{PREFIX}reconciler", action, int(done[action]))
    pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _histogram(redis: Redis, key: str, bounds: Sequence[float]) -> tuple[list[tuple[str, float]], float]:
    raw = {_text(k): float(v) for k, v in redis.hgetall(key).items()}
    running, buckets = 0.0, []
    for bound in [*map(str, bounds), "+Inf"]:
        running += raw.get(bound, 0.0)
        buckets.append((bound, running))
    return buckets, raw.get("sum", 0.0)


class NotifierCollector(Collector):
    """Read every metric at scrape time, from the database and Redis."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families (inside the app, so database and Redis are reachable)."""
        with self.app.app_context():
            yield from self._database()
            yield from self._redis(queues.redis())

    def _database(self) -> Iterator[Metric]:
        with db.engine().connect() as conn, Session(bind=conn) as s:  # reads only: no write lock
            deliveries = GaugeMetricFamily("notifier_deliveries", "Deliveries by delivery "
                                           "channel and status", labels=["channel", "status"])
            for channel, status, n in s.execute(select(Delivery.channel, Delivery.status,
                                                       func.count())
                                                .group_by(Delivery.channel, Delivery.status)):
                deliveries.add_metric([channel, status], n)
            yield deliveries
            incidents = GaugeMetricFamily("notifier_incidents", "Incidents by state",
                                          labels=["state"])
            for state, n in s.execute(select(Incident.state, func.count())
                                      .group_by(Incident.state)):
                incidents.add_metric([state], n)
            yield incidents
            yield GaugeMetricFamily("notifier_proposals_waiting", "Alert proposals waiting for "
                                    "a person", value=s.scalar(select(func.count()).where(
                                        Proposal.state == "waiting")) or 0)
            yield self._first_message(s)

    def _first_message(self, s: Any) -> Metric:
        """Time from confirm to the first message of the latest started notice, per channel."""
        family = GaugeMetricFamily("notifier_time_to_first_message_seconds",
                                   "Seconds from confirm to the first message sent, latest "
                                   "notice", labels=["channel"])
        notice = s.scalar(select(Notice).where(Notice.state != "scheduled")
                          .order_by(Notice.id.desc()).limit(1))
        if notice is not None:
            for channel, first in s.execute(select(Delivery.channel, func.min(Delivery.sent_at))
                                            .where(Delivery.notice_id == notice.id)
                                            .group_by(Delivery.channel)):
                if first is not None:
                    start = notice.scheduled_at or notice.created_at
                    family.add_metric([channel], max(0.0, (db_aware(first) - start).total_seconds()))
        return family

    def _redis(self, redis: Redis) -> Iterator[Metric]:
        depth = GaugeMetricFamily("notifier_queue_depth", "Jobs waiting per queue",
                                  labels=["queue"])
        for name in queues.QUEUE_NAMES:
            depth.add_metric([name], queues.queue(name).count)
        yield depth
        is_open = GaugeMetricFamily("notifier_circuit_open", "1 while a provider's circuit "
                                    "breaker holds sends", labels=["provider"])
        for provider in PROVIDERS:
            is_open.add_metric([provider], 1.0 if circuit.state(redis, provider).is_open else 0.0)
        yield is_open
        yield from self._tallies(redis)

    def _tallies(self, redis: Redis) -> Iterator[Metric]:
        results = CounterMetricFamily("notifier_provider_results", "Messages per provider and "
                                      "result (sent, retry, failed, opted_out; with the "
                                      "provider's code)", labels=["provider", "result", "code"])
        latency = HistogramMetricFamily("notifier_provider_call_seconds", "Time of one provider "
                                        "call (a chunk)", labels=["provider"])
        waits = HistogramMetricFamily("notifier_ratelimit_wait_seconds", "Time a chunk waited "
                                      "for the shared rate limiter", labels=["provider"])
        for provider in PROVIDERS:
            for label, n in redis.hgetall(f"{PREFIX}results:{provider}").items():
                result, _, code = _text(label).partition(":")
                results.add_metric([provider, result, code], float(n))
            buckets, total = _histogram(redis, f"{PREFIX}latency:{provider}", LATENCY_BUCKETS)
            latency.add_metric([provider], buckets, total)
            buckets, total = _histogram(redis, f"{PREFIX}wait:{provider}", WAIT_BUCKETS)
            waits.add_metric([provider], buckets, total)
        yield results
        yield latency
        yield waits
        actions = CounterMetricFamily("notifier_reconciler_actions", "What reconciler passes "
                                      "did", labels=["action"])
        raw = {_text(k): float(v) for k, v in redis.hgetall(f"{PREFIX}reconciler").items()}
        for action in RECONCILER_ACTIONS:
            actions.add_metric([action], raw.get(action, 0.0))
        yield actions


def db_aware(moment: Any) -> Any:
    """Return a timestamp read by a raw aggregate as aware UTC (SQLite hands back text or naive)."""
    from datetime import UTC, datetime

    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def registry(app: Any) -> CollectorRegistry:
    """Return a registry holding only the notifier's collector (one per app)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(NotifierCollector(app))
    return reg
