"""The engine against provider simulators that are not the notifier's own sandbox.

One worker process; a notice paused mid-flight and resumed, then an update to the same incident:
everyone gets the update exactly once, nobody gets anything twice on one channel, and nobody
hears the first notice after the update.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from notifier import audit, control, db, dispatch

from .conftest import wait_until
from .independent import Providers, running

CHANNELS = ("sms", "email", "telegram")


@pytest.fixture
def providers(env: dict[str, str]) -> Iterator[Providers]:
    with running() as sims:
        for name in ("TWILIO", "SENDGRID", "TELEGRAM"):
            env[f"NOTIFIER_{name}_API_URL"] = sims.url
        yield sims


def _send(app: Flask, template: str, values: dict[str, Any], incident: int | None = None) -> Any:
    req = dispatch.NoticeRequest(template, values, list(CHANNELS), incident_id=incident)
    with app.app_context():
        confirmed = dispatch.confirm_idempotently(req, audit.actor())
    return confirmed.notices[0]


def _finished(app: Flask, notice_id: int) -> dict[str, dict[str, int]] | None:
    with app.app_context(), db.transaction() as s:
        counts = dispatch.progress(s, notice_id)
    return counts if dispatch.is_finished(counts) else None


@pytest.mark.slow
def test_one_worker_pause_resume_and_an_update_reach_everyone_once(
        app: Flask, env: dict[str, str], demo: Any, providers: Providers, worker: Any) -> None:
    env["NOTIFIER_SMS_RATE"] = "5"  # 43 numbers take about nine seconds
    worker()  # ONE worker process for every queue
    first = _send(app, "phone-lines-down", {"contacts": ["vaxel"]})
    wait_until(lambda: providers.count("sms") >= 5, what="the first SMS")
    with app.app_context():
        control.act(first.id, "pause", "test")
    wait_until(lambda: (c := _counts(app, first.id)) and not any(
        per.get("sending") for per in c.values()), what="the pause to settle")
    paused_at = providers.count("sms")
    with app.app_context():
        control.act(first.id, "resume", "test")
    wait_until(lambda: providers.count("sms") > paused_at + 2, what="the resumed notice")
    update = _send(app, "update", {"status": "cause_found"}, incident=first.incident_id)
    counts = wait_until(lambda: _finished(app, update.id), timeout=120, what="the update")
    assert counts == {"sms": {"sent": 43}, "email": {"sent": 36}, "telegram": {"sent": 15}}
    wait_until(lambda: _finished(app, first.id), timeout=30, what="the first notice to settle")

    first_texts = {per[c]["text"] for per in first.rendered.values() for c in CHANNELS}
    for channel in CHANNELS:
        for address, texts in providers.texts(channel).items():
            kinds = ["first" if t in first_texts else "update" for t in texts]
            assert kinds in (["update"], ["first", "update"]), (channel, address, kinds)
        assert len(providers.texts(channel)) == sum(counts[channel].values())


def _counts(app: Flask, notice_id: int) -> dict[str, dict[str, int]]:
    with app.app_context(), db.transaction() as s:
        return dispatch.progress(s, notice_id)
