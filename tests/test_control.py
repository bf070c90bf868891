"""Control of notices in flight: cancel, pause/resume, supersede, fallback, "send the rest by email"."""
from __future__ import annotations

import collections
import time
from typing import Any

from flask import Flask
from sqlalchemy import select

from notifier import audit, clock, control, db, dispatch, enqueueing
from notifier.models import Notice, Subscription
from notifier.sandbox.client import SandboxClient
from workers import jobs

from .conftest import wait_until


def _send(app: Flask, template: str = "phone-lines-down", channels: tuple[str, ...] | None = ("sms",),
          values: dict[str, Any] | None = None, incident: int | None = None,
          **extra: Any) -> Notice:
    values = {"contacts": ["vaxel"]} if values is None else values
    req = dispatch.NoticeRequest(template, values, list(channels) if channels else None,
                                 incident_id=incident, **extra)
    with app.app_context():
        with db.transaction() as s:
            notice = dispatch.confirm(s, req, audit.actor())
        with db.transaction() as s:
            enqueueing.enqueue(s, notice)
    return notice


def _counts(app: Flask, notice_id: int) -> dict[str, dict[str, int]]:
    with app.app_context(), db.transaction() as s:
        return dispatch.progress(s, notice_id)


def _finished(app: Flask, notice_id: int) -> dict[str, dict[str, int]] | None:
    counts = _counts(app, notice_id)
    return counts if dispatch.is_finished(counts) else None


def _slow_sms(env: dict[str, str]) -> None:
    env["NOTIFIER_SMS_RATE"] = "5"  # 43 numbers take about nine seconds


def test_an_all_clear_supersedes_a_notice_still_being_sent(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    _slow_sms(env)
    worker("--queues", "sms")
    first = _send(app)
    wait_until(lambda: len(sandbox.messages(channel="sms")) >= 5, what="the first SMS")
    clear = _send(app, "all-clear", incident=first.incident_id, values={"restored": "phones"})
    done = wait_until(lambda: _finished(app, clear.id), timeout=120, what="the all-clear")
    assert done == {"sms": {"sent": 43}}
    first_counts = wait_until(lambda: _finished(app, first.id), timeout=30, what="the first notice")
    sent_first = first_counts["sms"].get("sent", 0)
    assert 5 <= sent_first < 43 and first_counts["sms"]["cancelled"] == 43 - sent_first

    # Nobody hears "lines are down" after "lines are back".
    clear_texts = {per["sms"]["text"] for per in clear.rendered.values()}
    order: dict[str, list[str]] = collections.defaultdict(list)
    for m in sandbox.messages(channel="sms"):
        order[m["to"]].append("clear" if m["body"] in clear_texts else "down")
    for to, seen in order.items():
        assert seen in (["clear"], ["down", "clear"]), (to, seen)
    with app.app_context():
        assert db.session().get(Notice, first.id).state == "superseded"  # type: ignore[union-attr]


def test_cancel_mid_flight_stops_what_is_not_sent(app: Flask, env: dict[str, str], demo: Any,
                                                  sandbox: SandboxClient, worker: Any) -> None:
    _slow_sms(env)
    worker("--queues", "sms")
    notice = _send(app)
    wait_until(lambda: len(sandbox.messages(channel="sms")) >= 5, what="the first SMS")
    with app.app_context(), db.transaction() as s:
        control.cancel(s, notice.id, "test")
    counts = wait_until(lambda: _finished(app, notice.id), timeout=30, what="the cancel to settle")
    sent = counts["sms"].get("sent", 0)
    assert sent < 43 and counts["sms"]["cancelled"] == 43 - sent
    assert len(sandbox.messages(channel="sms")) == sent


def test_pause_holds_and_resume_goes_on_without_duplicates(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    _slow_sms(env)
    worker("--queues", "sms")
    notice = _send(app)
    wait_until(lambda: len(sandbox.messages(channel="sms")) >= 5, what="the first SMS")
    with app.app_context(), db.transaction() as s:
        control.pause(s, notice.id, "test")
    held = wait_until(lambda: (c := _counts(app, notice.id)["sms"]).get("sending", 0) == 0 and c,
                      what="in-flight batches to hand their deliveries back")
    assert held["queued"] > 0
    with app.app_context():
        with db.transaction() as s:
            control.resume(s, notice.id, "test")
        with db.transaction() as s:
            enqueueing.enqueue_queued(s, s.get(Notice, notice.id))  # type: ignore[arg-type]
    assert wait_until(lambda: _finished(app, notice.id), timeout=120) == {"sms": {"sent": 43}}
    received = collections.Counter(m["to"] for m in sandbox.messages(channel="sms"))
    assert len(received) == 43 and set(received.values()) == {1}


def test_a_failed_sms_falls_back_to_email_once(app: Flask, demo: Any, sandbox: SandboxClient,
                                              worker: Any) -> None:
    worker()
    sandbox.fault("sms", "invalid", addresses=["+46701740690"])  # staff member 1
    notice = _send(app, channels=("sms",), segments=["staff"], fallback={"sms": "email"})
    counts = wait_until(lambda: _finished(app, notice.id), timeout=60, what="the notice")
    assert counts == {"sms": {"sent": 2, "failed": 1}, "email": {"sent": 1}}
    emails = sandbox.messages(channel="email")
    assert [m["to"] for m in emails] == ["beredskap1@solvik.example"]


def test_send_the_rest_by_email_when_sms_is_down(app: Flask, demo: Any, sandbox: SandboxClient,
                                                 worker: Any) -> None:
    sandbox.fault("sms", "error_5xx")  # the SMS provider fails everything
    worker()
    notice = _send(app, channels=("sms",))
    wait_until(lambda: _counts(app, notice.id)["sms"].get("retry_wait", 0) > 0,
               what="SMS deliveries waiting for a retry")
    with app.app_context(), db.transaction() as s:
        cancelled, created = control.send_rest_by(s, notice.id, "sms", "email", "test")
        with_email = len(set(s.scalars(select(Subscription.subscriber_id).where(
            Subscription.channel == "email"))) & set(s.scalars(select(
                Subscription.subscriber_id).where(Subscription.channel == "sms"))))
    assert cancelled > 0 and 0 < created <= with_email
    with app.app_context(), db.transaction() as s:
        enqueueing.enqueue_queued(s, s.get(Notice, notice.id))  # type: ignore[arg-type]
    # SMS that were in flight at that moment go on retrying against the failing provider; the
    # rest goes by email, exactly once each.
    counts = wait_until(lambda: (c := _counts(app, notice.id)).get("email") == {"sent": created}
                        and c, timeout=60, what="the rerouted email")
    assert counts["sms"].get("cancelled") == cancelled
    assert len(sandbox.messages(channel="email")) == created


def test_a_provider_failing_everything_opens_the_circuit_and_the_operator_is_told(
        app: Flask, client: Any, auth: Any, demo: Any, sandbox: SandboxClient,
        worker: Any) -> None:
    from notifier import circuit, queues

    sandbox.fault("sms", "error_5xx")
    worker()
    notice = _send(app, channels=("sms",))
    with app.app_context():
        wait_until(lambda: circuit.state(queues.redis(), "twilio").is_open, timeout=60,
                   what="the SMS circuit to open")
    calls = sandbox.stats()
    auth.login("operator@solvik.example")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "SMS provider (twilio) is failing" in page
    assert "Send the rest of SMS by email instead" in page
    time.sleep(3)  # held: no new calls while the circuit is open
    assert sandbox.stats() == calls

    sandbox.clear_faults()
    counts = wait_until(lambda: _finished(app, notice.id), timeout=120,
                        what="the notice to finish once the provider recovers")
    assert counts == {"sms": {"sent": 43}}


def test_a_scheduled_notice_and_its_reminder_go_out_on_time_even_if_redis_lost_the_job(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    from datetime import timedelta

    from redis import Redis

    from notifier.models import utcnow

    worker()
    now = utcnow()
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, ["sms"], ["staff"],
                                 scheduled_at=now + timedelta(seconds=3))
    with app.app_context():
        with db.transaction() as s:
            first, reminder = dispatch.confirm_with_reminder(s, req, "test",
                                                             now + timedelta(seconds=12))
        for n in (first, reminder):
            with db.transaction() as s:
                enqueueing.enqueue(s, s.get(Notice, n.id))  # type: ignore[arg-type]
        assert (first.state, reminder.state) == ("scheduled", "scheduled")
        assert reminder.incident_id == first.incident_id
    assert _counts(app, first.id) == {}  # planned only when it starts
    # Redis loses the scheduled jobs: the reconciler must start the notices anyway.
    assert Redis.from_url(env["NOTIFIER_REDIS_URL"]).delete("rq:scheduled:control") == 1
    assert wait_until(lambda: _finished(app, first.id) if _counts(app, first.id) else None,
                      timeout=30, what="the notice") == {"sms": {"sent": 3}}
    assert wait_until(lambda: _finished(app, reminder.id) if _counts(app, reminder.id) else None,
                      timeout=60, what="the reminder") == {"sms": {"sent": 3}}
    received = collections.Counter(m["to"] for m in sandbox.messages(channel="sms"))
    assert set(received.values()) == {2}  # the notice, then the reminder


def test_a_send_time_in_the_past_is_refused(app: Flask, demo: Any) -> None:
    import pytest

    with app.app_context(), db.transaction() as s, pytest.raises(dispatch.DispatchError,
                                                                 match="in the past"):
        dispatch.confirm(s, dispatch.NoticeRequest(
            "phone-lines-down", {"contacts": ["vaxel"]}, ["sms"],
            scheduled_at=clock.parse_local("2020-01-01 10:00")), "test")


def test_the_console_pauses_and_cancels_and_a_viewer_cannot(app: Flask, client: Any, auth: Any,
                                                            demo: Any) -> None:
    import re

    notice = _send(app)  # no worker: everything stays queued
    auth.login("viewer@solvik.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get(f"/notices/{notice.id}").get_data(as_text=True))
    assert token is not None
    assert client.post(f"/notices/{notice.id}/pause",
                       data={"csrf_token": token.group(1)}).status_code == 403
    auth.logout()
    auth.login("operator@solvik.example")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "Pause" in page and "Cancel what is not sent" in page
    shown = client.post(f"/notices/{notice.id}/pause", data={"csrf_token": csrf},
                        follow_redirects=True).get_data(as_text=True)
    assert f"Notice {notice.id} is paused." in shown and "Resume" in shown
    shown = client.post(f"/notices/{notice.id}/cancel", data={"csrf_token": csrf},
                        follow_redirects=True).get_data(as_text=True)
    assert f"Notice {notice.id} is cancelled: 43 unsent deliveries stopped." in shown
    assert _counts(app, notice.id) == {"sms": {"cancelled": 43}}


def test_a_follow_up_reaches_whom_the_first_notice_reached_unless_told_otherwise(
        app: Flask, client: Any, auth: Any, demo: Any) -> None:
    first = _send(app, channels=("sms",),
                  segments=["region-syd"])
    with app.app_context():
        with db.transaction() as s:
            clear = dispatch.confirm(s, dispatch.NoticeRequest(
                "all-clear", {"restored": "phones"}, incident_id=first.incident_id), "test")
        assert (clear.channels, clear.segments) == (["sms"], ["region-syd"])
        assert _counts(app, clear.id) == {"sms": {"queued": 10}}  # region-syd's numbers
        assert db.session().get(Notice, first.id).state == "superseded"  # type: ignore[union-attr]
        # Its unsent deliveries are cancelled by a job right after the confirm commits.
        jobs.cancel_stopped(first.incident_id)
        assert _counts(app, first.id) == {"sms": {"cancelled": 10}}

    auth.login("operator@solvik.example")
    page = client.get(f"/send/update?incident={first.incident_id}").get_data(as_text=True)
    assert 'value="region-syd" checked' in page
    assert 'value="banner" checked' not in page and 'value="sms" checked' in page


def test_everyone_overrides_the_inherited_segments_from_the_command_line(
        app: Flask, env: dict[str, str], demo: Any) -> None:
    from click.testing import CliRunner

    from notifier.cli import main

    first = _send(app, channels=("sms",), segments=["staff"])
    as_operator = {"NOTIFIER_AS": "operator@solvik.example",
                   "NOTIFIER_PASSWORD": "correct-horse-battery"}
    out = CliRunner(env=as_operator).invoke(main, [
        "send", "all-clear", "--incident", str(first.incident_id), "--var", "restored=phones",
        "--everyone", "--yes"])
    assert out.exit_code == 0, out.output
    with app.app_context():
        clear = db.session().scalar(select(Notice).order_by(Notice.id.desc()))
        assert clear is not None and clear.segments == [] and clear.channels == ["sms"]
