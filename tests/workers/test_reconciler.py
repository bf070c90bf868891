"""Nothing accepted is lost: Redis flushed, a worker killed mid-batch, a provider failing for a while."""
from __future__ import annotations

import collections
import os
import signal
from typing import Any

from flask import Flask
from redis import Redis

from notifier import audit, db, dispatch, enqueueing
from notifier.sandbox.client import SandboxClient

from ..conftest import wait_until


def _confirm(app: Flask, channels: tuple[str, ...] = ("sms",), segments: tuple[str, ...] = ()) -> int:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, list(channels),
                                 list(segments))
    with app.app_context():
        with db.transaction() as s:
            notice = dispatch.confirm(s, req, audit.actor())
        with db.transaction() as s:
            enqueueing.enqueue(s, notice)
        return notice.id


def _finished(app: Flask, notice_id: int) -> dict[str, dict[str, int]] | None:
    with app.app_context(), db.transaction() as s:
        counts = dispatch.progress(s, notice_id)
    return counts if dispatch.is_finished(counts) else None


def _received(sandbox: SandboxClient, channel: str) -> collections.Counter[str]:
    return collections.Counter(m["to"] for m in sandbox.messages(channel=channel))


def test_deliveries_whose_jobs_vanished_with_redis_are_sent_once(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    notice_id = _confirm(app, ("sms", "email"))
    Redis.from_url(env["NOTIFIER_REDIS_URL"]).flushdb()  # the jobs and the planned marks are gone
    worker()
    counts = wait_until(lambda: _finished(app, notice_id), timeout=90, what="the notice to finish")
    assert counts == {"sms": {"sent": 43}, "email": {"sent": 36}}
    assert set(_received(sandbox, "sms").values()) == {1}
    assert set(_received(sandbox, "email").values()) == {1}


def test_a_worker_killed_mid_batch_loses_nothing(app: Flask, env: dict[str, str], demo: Any,
                                                  sandbox: SandboxClient, worker: Any) -> None:
    env["NOTIFIER_SMS_RATE"] = "8"  # about five seconds for the 43 numbers
    first = worker("--queues", "sms")
    notice_id = _confirm(app)
    wait_until(lambda: len(sandbox.messages(channel="sms")) >= 8, timeout=60,
               what="the first messages to go out")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = len(sandbox.messages(channel="sms"))
    assert before < 43, "the worker finished before it could be killed"

    worker("--queues", "sms")
    counts = wait_until(lambda: _finished(app, notice_id), timeout=120, what="the notice to finish")
    assert counts == {"sms": {"sent": 43}}
    received = _received(sandbox, "sms")
    assert len(received) == 43  # nobody was forgotten
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= 8  # at most the chunk that was in flight when the worker died


def test_a_provider_failing_for_a_while_is_retried_until_sent(
        app: Flask, demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    sandbox.fault("sms", "error_5xx", count=4)
    sandbox.fault("email", "rate_limit", count=1, retry_after=1)
    worker()
    notice_id = _confirm(app, ("sms", "email"), ("staff",))
    counts = wait_until(lambda: _finished(app, notice_id), timeout=90, what="the notice to finish")
    assert counts == {"sms": {"sent": 3}, "email": {"sent": 3}}
    assert set(_received(sandbox, "sms").values()) == {1}
    assert set(_received(sandbox, "email").values()) == {1}
