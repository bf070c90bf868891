"""The delivery state machine: every operator action safe, every provider failure survived.

Each test here started as a regression test that failed on the engine before the one state
machine (notifier/deliveries.py) existed.
"""
from __future__ import annotations

import ast
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select, update

from notifier import audit, control, db, deliveries, dispatch, enqueueing
from notifier.channels.base import Outcome, Result
from notifier.models import Delivery, DeliveryStatus, Notice, utcnow
from notifier.sandbox.client import SandboxClient
from workers import delivery, reconciler
from workers.ratelimit import RateLimiter

from .conftest import ROOT, wait_until

STAFF_SMS = 3  # the demo's staff segment has three mobile numbers


def _confirm(app: Flask, channels: tuple[str, ...] = ("sms",), segments: tuple[str, ...] = ("staff",),
             **extra: Any) -> Notice:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, list(channels),
                                 list(segments), **extra)
    with app.app_context(), db.transaction() as s:
        return dispatch.confirm(s, req, audit.actor())


def _ids(app: Flask, notice_id: int, channel: str = "sms") -> list[int]:
    with app.app_context(), db.transaction() as s:
        return list(s.scalars(select(Delivery.id).where(Delivery.notice_id == notice_id,
                                                        Delivery.channel == channel)
                              .order_by(Delivery.id)))


def _statuses(app: Flask, notice_id: int) -> dict[int, str]:
    with app.app_context(), db.transaction() as s:
        return dict(s.execute(select(Delivery.id, Delivery.status)
                              .where(Delivery.notice_id == notice_id)).all())  # type: ignore[arg-type]


def _notice_state(app: Flask, notice_id: int) -> str:
    with app.app_context(), db.transaction() as s:
        return str(s.scalar(select(Notice.state).where(Notice.id == notice_id)))


def _finished(app: Flask, notice_id: int) -> dict[str, dict[str, int]] | None:
    with app.app_context(), db.transaction() as s:
        counts = dispatch.progress(s, notice_id)
    return counts if dispatch.is_finished(counts) else None


def _claim(notice_id: int, ids: list[int]) -> deliveries.Claim:
    with db.transaction() as s:
        return deliveries.claim(s, notice_id, "sms", ids[0], ids[-1],
                                utcnow() + timedelta(seconds=60))


def _jobs(env: dict[str, str]) -> int:
    redis = Redis.from_url(env["NOTIFIER_REDIS_URL"])
    return sum(int(redis.llen(f"rq:queue:{q}")) for q in ("sms", "email", "telegram"))


@pytest.mark.parametrize("how", ["retry", "expired lease"])
def test_a_delivery_in_flight_when_its_notice_is_cancelled_ends_cancelled(
        app: Flask, env: dict[str, str], demo: Any, how: str) -> None:
    notice = _confirm(app)
    ids = _ids(app, notice.id)
    with app.app_context():
        batch = _claim(notice.id, ids)
        with db.transaction() as s:
            control.cancel(s, notice.id, "test")
        if how == "retry":  # the chunk in flight comes back "try again later"
            with db.transaction() as s:
                deliveries.record(s, batch.token,
                                  [Outcome(i, Result.RETRY, error_code="20500") for i in ids],
                                  deliveries.policy_of(s, notice.id))
        with db.transaction() as s:  # time passes: the retry is due, the lease long gone
            s.execute(update(Delivery).where(Delivery.id.in_(ids)).values(
                next_attempt_at=utcnow() - timedelta(seconds=1),
                lease_until=utcnow() - timedelta(seconds=1)))
        Redis.from_url(env["NOTIFIER_REDIS_URL"]).flushdb()
        for _ in range(3):
            reconciler.reconcile()
    assert set(_statuses(app, notice.id).values()) == {"cancelled"}
    assert _jobs(env) == 0, "no job may be enqueued for a cancelled notice's deliveries"


def test_pausing_and_resuming_never_uses_up_attempts(app: Flask, env: dict[str, str],
                                                     demo: Any) -> None:
    notice = _confirm(app)
    ids = _ids(app, notice.id)
    with app.app_context():
        for _ in range(8):  # eight pauses, each handing the claimed batch back unsent
            batch = _claim(notice.id, ids)
            assert len(batch.deliveries) == STAFF_SMS
            with db.transaction() as s:
                deliveries.release(s, batch.token, [c.id for c in batch.deliveries])
        reconciler.reconcile()
    assert set(_statuses(app, notice.id).values()) == {"queued"}


def test_a_batch_that_lost_its_claim_stops_at_its_next_chunk(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    env_rate = 1.0  # one SMS segment per chunk: every message is a chunk of its own
    app.config["RATES"]["sms"] = env_rate * 10
    notice = _confirm(app)
    ids = _ids(app, notice.id)
    original = RateLimiter.acquire
    calls = {"n": 0}

    def acquire(self: RateLimiter, n: float = 1) -> float:
        calls["n"] += 1
        if calls["n"] == 1:  # while the first chunk goes out, the rest is handed to another worker
            with db.transaction() as s:
                s.execute(update(Delivery).where(Delivery.id.in_(ids[1:]))
                          .values(claim_token="another-worker"))
        return original(self, n)

    monkeypatch.setattr(RateLimiter, "acquire", acquire)
    with app.app_context():
        delivery.deliver_batch(notice.id, "sms", ids[0], ids[-1])
    assert len(sandbox.messages(channel="sms")) == 1, "the batch went on sending without its claim"


def test_the_rate_limiter_keeps_the_pace_after_a_provider_pause(
        app: Flask, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    redis = Redis.from_url(env["NOTIFIER_REDIS_URL"])
    limiter = RateLimiter(redis, "twilio", "pause-test", rate=10)
    granted: list[float] = []
    monkeypatch.setattr("workers.ratelimit.time.sleep", lambda s: None)
    limiter.pause(2.0)
    start = time.time()
    for _ in range(40):  # many workers asking during the pause, each for one SMS
        now = time.time()
        granted.append(now + limiter.acquire(1))
    first = min(granted)
    assert first >= start + 1.9, "nothing may go out during the provider's pause"
    first_second = [t for t in granted if t < first + 0.999]
    assert len(first_second) <= 10, f"{len(first_second)} sends in the first second at 10/s"


def test_a_reroute_racing_another_reroute_never_fails(app: Flask, env: dict[str, str],
                                                      demo: Any) -> None:
    notice = _confirm(app, ("sms", "email"))
    ids = _ids(app, notice.id)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def reroute() -> None:
        try:
            start.wait(5)  # both transactions begin together (PostgreSQL lets them overlap)
            with app.app_context(), db.transaction() as s:
                control.reroute(s, s.get(Notice, notice.id), ids, "email")  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=reroute) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_the_reconciler_never_removes_a_lock_another_reconciler_holds(
        app: Flask, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    redis = Redis.from_url(env["NOTIFIER_REDIS_URL"])

    def slow_pass() -> int:
        # This pass outlived its lock; another worker's reconciler took the lock meanwhile.
        redis.set(reconciler.LOCK, "another-reconciler")
        return 0

    monkeypatch.setattr(dispatch, "start_due_and_enqueue", slow_pass)
    with app.app_context():
        reconciler.reconcile()
    assert redis.get(reconciler.LOCK) == b"another-reconciler"


def test_one_worker_goes_on_with_a_notice_it_once_saw_paused(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    notice = _confirm(app, segments=())
    with app.app_context():
        with db.transaction() as s:
            control.pause(s, notice.id, "test")
        with db.transaction() as s:
            enqueueing.enqueue(s, s.get(Notice, notice.id))  # type: ignore[arg-type]
    worker("--queues", "sms")  # ONE worker: its first job meets the paused notice
    wait_until(lambda: _jobs(env) == 0, what="the worker to take the paused notice's job")
    time.sleep(1)
    with app.app_context():
        control.act(notice.id, "resume", "test")
    assert wait_until(lambda: _finished(app, notice.id), timeout=60,
                      what="the resumed notice") == {"sms": {"sent": 43}}


# --- the machine itself ----------------------------------------------------------------------

SOURCES = [p for pkg in ("notifier", "workers") for p in (ROOT / pkg).rglob("*.py")
           if "deliveries" not in p.parts and "migrations" not in p.parts]


def _on_delivery(node: ast.AST) -> bool:
    """Tell whether a chained call starts from update(Delivery)."""
    while isinstance(node, (ast.Call, ast.Attribute)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "update"
                and node.args and getattr(node.args[0], "id", "") == "Delivery"):
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def test_nothing_outside_the_state_machine_writes_a_delivery_status() -> None:
    offenders = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "values"
                    and any(k.arg == "status" for k in node.keywords) and _on_delivery(node)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"UPDATEs of deliveries outside notifier.deliveries: {offenders}"


def test_an_update_off_the_edges_of_the_table_is_refused(app: Flask, demo: Any) -> None:
    notice = _confirm(app)
    ids = _ids(app, notice.id)
    with app.app_context():
        with pytest.raises(deliveries.IllegalTransitionError):  # not through the machine at all
            with db.transaction() as s:
                s.execute(update(Delivery).where(Delivery.id == ids[0]).values(status="sent"))
        wrong = deliveries.machine.statement("claim", Delivery.id == ids[0])
        with pytest.raises(deliveries.IllegalTransitionError):  # an edge the table lacks
            with db.transaction() as s:
                s.execute(wrong.values(status="delivered"))
        with pytest.raises(deliveries.IllegalTransitionError):  # an ORM assignment
            with db.transaction() as s:
                s.get(Delivery, ids[0]).status = "sent"  # type: ignore[union-attr]
    assert set(_statuses(app, notice.id).values()) == {"queued"}


def test_every_transition_is_an_edge_and_every_state_is_reachable() -> None:
    states = {s.value for s in DeliveryStatus}
    assert {b for _a, b in deliveries.EDGES} <= states
    reachable, frontier = {"queued"}, ["queued"]
    while frontier:
        here = frontier.pop()
        for a, b in deliveries.EDGES:
            if a == here and b not in reachable:
                reachable.add(b)
                frontier.append(b)
    assert reachable == states
    for t in deliveries.TRANSITIONS.values():
        assert t.why, f"transition {t.name} says why it happens"


def test_the_architecture_document_lists_the_transitions_as_the_code_has_them() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for t in deliveries.TRANSITIONS.values():
        row = f"| `{t.name}` | {', '.join(t.leaves) or '(new row)'} | {t.enters} | {t.why} |"
        assert row in doc, f"docs/architecture.md lacks or differs on: {row}"
