"""The retry policy end to end: nobody is given up on while a provider is only degraded or down
for a while, and a fallback channel takes over when one is set."""
from __future__ import annotations

import collections
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from notifier import audience, audit, db, dispatch, enqueueing
from notifier.models import Delivery
from notifier.sandbox.client import SandboxClient
from workers import delivery

from .conftest import wait_until
from .web.test_webhooks import _status

CUSTOMERS = 300


def _many(app: Flask, n: int = CUSTOMERS) -> None:
    """Subscribe n customers (SMS, email, Telegram) in a segment of their own."""
    lines = ["external_id,name,language,phone,email,telegram_chat_id,segments"]
    lines += [f"M{i},Kund {i},{'sv' if i % 4 else 'en'},+4673{i:07d},kund{i}@example.se,"
              f"{800000000 + i},many" for i in range(n)]
    with app.app_context(), db.transaction() as s:
        report = audience.import_csv(s, "\n".join(lines))
    assert report.added == n, report.errors


def _send(app: Flask, segments: tuple[str, ...], channels: tuple[str, ...] = ("sms", "email",
                                                                            "telegram"),
          **extra: Any) -> int:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel"]}, list(channels),
                                 list(segments), **extra)
    with app.app_context():
        with db.transaction() as s:
            notice = dispatch.confirm(s, req, audit.actor())
        with db.transaction() as s:
            enqueueing.enqueue(s, notice)
    return notice.id


def _counts(app: Flask, notice_id: int) -> dict[str, dict[str, int]]:
    with app.app_context(), db.transaction() as s:
        return dispatch.progress(s, notice_id)


def _finished(app: Flask, notice_id: int) -> dict[str, dict[str, int]] | None:
    counts = _counts(app, notice_id)
    return counts if dispatch.is_finished(counts) else None


def _reached_once(sandbox: SandboxClient, channel: str) -> collections.Counter[str]:
    return collections.Counter(m["to"] for m in sandbox.messages(channel=channel))


@pytest.mark.slow
def test_half_of_all_calls_failing_still_reaches_everyone_once(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    _many(app)
    for channel in ("sms", "email", "telegram"):
        sandbox.fault(channel, "error_5xx", rate=0.5)
    notice_id = _send(app, ("many",))
    worker()
    worker()
    counts = wait_until(lambda: _finished(app, notice_id), timeout=420, what="every delivery")
    assert counts == {c: {"sent": CUSTOMERS} for c in ("sms", "email", "telegram")}
    for channel in ("sms", "email", "telegram"):
        assert set(_reached_once(sandbox, channel).values()) == {1}


@pytest.mark.slow
def test_an_sms_provider_down_for_a_while_delays_but_loses_nobody(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    _many(app)
    sandbox.fault("sms", "error_5xx")  # every call, until the provider recovers
    notice_id = _send(app, ("many",), ("sms",))
    worker()
    wait_until(lambda: _counts(app, notice_id)["sms"].get("retry_wait", 0) >= 100,
               what="deliveries waiting for the provider")
    time.sleep(20)  # the outage goes on (the benchmark plays three minutes)
    sandbox.clear_faults()
    counts = wait_until(lambda: _finished(app, notice_id), timeout=300, what="every SMS")
    assert counts == {"sms": {"sent": CUSTOMERS}}
    assert set(_reached_once(sandbox, "sms").values()) == {1}


def _staff_sms(app: Flask, notice_id: int) -> list[Any]:
    with app.app_context(), db.transaction() as s:
        return list(s.scalars(select(Delivery).where(Delivery.notice_id == notice_id,
                                                     Delivery.channel == "sms")
                              .order_by(Delivery.id)))


def _emails_for(app: Flask, notice_id: int) -> list[Any]:
    with app.app_context(), db.transaction() as s:
        return list(s.scalars(select(Delivery).where(Delivery.notice_id == notice_id,
                                                     Delivery.channel == "email")))


def test_an_undelivered_sms_goes_by_email_when_the_notice_falls_back(
        app: Flask, client: FlaskClient, env: dict[str, str], demo: Any,
        sandbox: SandboxClient) -> None:
    notice_id = _send(app, ("staff",), ("sms",), fallback={"sms": "email"})
    ids = [d.id for d in _staff_sms(app, notice_id)]
    with app.app_context():
        delivery.deliver_batch(notice_id, "sms", min(ids), max(ids))
    unreachable = _staff_sms(app, notice_id)[0]
    assert _status(client, unreachable, "undelivered", "30003").status_code == 204
    [email] = _emails_for(app, notice_id)
    assert (email.fallback_of, email.status) == (unreachable.id, "queued")


def test_a_notice_followed_by_an_update_never_falls_back(
        app: Flask, client: FlaskClient, env: dict[str, str], demo: Any) -> None:
    notice_id = _send(app, ("staff",), ("sms",), fallback={"sms": "email"})
    ids = [d.id for d in _staff_sms(app, notice_id)]
    with app.app_context():
        delivery.deliver_batch(notice_id, "sms", min(ids), max(ids))
    update = dispatch.NoticeRequest("update", {"status": "cause_found"},
                                    incident_id=_incident(app, notice_id))
    with app.app_context(), db.transaction() as s:
        dispatch.confirm(s, update, "test")
    # The first notice's SMS comes back undelivered after the update went out: sending the
    # first notice by email now would tell someone "lines are down" after "cause found".
    _status(client, _staff_sms(app, notice_id)[0], "undelivered", "30003")
    assert _emails_for(app, notice_id) == []


def _incident(app: Flask, notice_id: int) -> int:
    from notifier.models import Notice

    with app.app_context(), db.transaction() as s:
        return int(s.get(Notice, notice_id).incident_id)  # type: ignore[union-attr]


def test_a_delivery_failing_longer_than_the_fallback_delay_goes_by_email(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient, worker: Any) -> None:
    env["NOTIFIER_FALLBACK_AFTER"] = "0.05"  # three seconds
    sandbox.fault("sms", "error_5xx")
    notice_id = _send(app, ("staff",), ("sms",), fallback={"sms": "email"})
    worker()
    counts = wait_until(lambda: _finished(app, notice_id), timeout=90, what="the fallback")
    assert counts == {"sms": {"cancelled": 3}, "email": {"sent": 3}}
    assert {d.error for d in _staff_sms(app, notice_id)} == {
        "sent by email instead after 0.05 min of provider failures"}


def test_waiting_deliveries_are_explained_then_given_up_at_the_deadline(
        app: Flask, env: dict[str, str], demo: Any, sandbox: SandboxClient) -> None:
    from click.testing import CliRunner
    from sqlalchemy import update

    from notifier.cli import main
    from notifier.models import Notice, utcnow
    from workers import reconciler

    sandbox.fault("sms", "error_5xx")
    notice_id = _send(app, ("staff",), ("sms",), deadline_minutes=30)
    ids = [d.id for d in _staff_sms(app, notice_id)]
    with app.app_context():
        delivery.deliver_batch(notice_id, "sms", min(ids), max(ids))
    assert _counts(app, notice_id) == {"sms": {"retry_wait": 3}}
    shown = CliRunner().invoke(main, ["status", str(notice_id)]).output
    assert "waiting: SMS provider failing since " in shown and "3 waiting, next try " in shown
    with app.app_context(), db.transaction() as s:  # half an hour later, still failing
        notice = s.get(Notice, notice_id)
        assert notice is not None and notice.deadline_minutes == 30
        s.execute(update(Notice).where(Notice.id == notice_id)
                  .values(deadline_at=utcnow() - timedelta(seconds=1)))
        s.execute(update(Delivery).where(Delivery.notice_id == notice_id)
                  .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    with app.app_context():
        reconciler.reconcile()
    assert _counts(app, notice_id) == {"sms": {"failed": 3}}
    assert {d.error for d in _staff_sms(app, notice_id)} == {"still failing at the delivery deadline"}
