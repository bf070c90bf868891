"""Planning range by range: the first messages go out at once, the rest follows, nobody twice."""
from __future__ import annotations

import collections
from typing import Any

from flask import Flask

from notifier import audit, db, dispatch
from notifier.models import Notice
from notifier.sandbox.client import SandboxClient

from .conftest import wait_until

EVERYONE = {"sms": 43, "email": 36, "telegram": 15}


def _send(app: Flask, template: str = "phone-lines-down", incident: int | None = None,
          values: dict[str, Any] | None = None) -> Notice:
    req = dispatch.NoticeRequest(template, values or {"contacts": ["vaxel"]},
                                 ["sms", "email", "telegram"], incident_id=incident)
    with app.app_context():
        return dispatch.confirm_idempotently(req, audit.actor()).notices[0]


def _notice(app: Flask, notice_id: int) -> Notice:
    with app.app_context(), db.transaction() as s:
        notice = s.get(Notice, notice_id)
        assert notice is not None
        return notice


def _counts(app: Flask, notice_id: int) -> dict[str, dict[str, int]]:
    with app.app_context(), db.transaction() as s:
        return dispatch.progress(s, notice_id)


def test_a_notice_planned_in_ranges_reaches_everyone_once_and_then_completes(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    env["NOTIFIER_PLANNING_RANGE"] = "20"
    app.config["PLANNING_RANGE"] = 20
    notice = _send(app)
    first = _notice(app, notice.id)
    assert first.planning and sum(sum(c.values()) for c in _counts(app, notice.id).values()) < 94
    worker()
    wait_until(lambda: _notice(app, notice.id).state == "completed", timeout=90,
               what="the notice to be planned, sent and completed")
    assert {ch: sum(c.values()) for ch, c in _counts(app, notice.id).items()} == EVERYONE
    for channel, n in EVERYONE.items():
        received = collections.Counter(m["to"] for m in sandbox.messages(channel=channel))
        assert len(received) == n and set(received.values()) == {1}


def test_an_update_stops_the_planning_of_the_notice_it_supersedes(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    env["NOTIFIER_PLANNING_RANGE"] = "20"
    app.config["PLANNING_RANGE"] = 20
    first = _send(app)
    update = _send(app, "update", incident=first.incident_id, values={"status": "cause_found"})
    worker()  # the first notice's planning job runs only now, after the update
    wait_until(lambda: _notice(app, update.id).state == "completed", timeout=90,
               what="the update")
    assert {ch: sum(c.values()) for ch, c in _counts(app, update.id).items()} == EVERYONE
    stopped = _notice(app, first.id)
    assert stopped.state == "superseded" and not stopped.planning
    first_texts = {per[c]["text"] for per in first.rendered.values() for c in EVERYONE}
    for channel in EVERYONE:
        order = collections.defaultdict(list)
        for m in sandbox.messages(channel=channel):
            order[m["to"]].append("first" if m["body"] in first_texts else "update")
        assert all(seen in (["update"], ["first", "update"]) for seen in order.values()), order
