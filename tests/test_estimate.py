"""One estimator of time: SMS counted in segments, what waits ahead, the live rate beside."""
from __future__ import annotations

from typing import Any

from flask import Flask

from notifier import audit, db, dispatch, estimate
from notifier.models import Notice


def _confirm(app: Flask, channels: list[str]) -> Notice:
    req = dispatch.NoticeRequest("phone-lines-down", {"contacts": ["vaxel", "chatt"]}, channels)
    with app.app_context(), db.transaction() as s:
        return dispatch.confirm(s, req, audit.actor())


def test_a_notice_waits_behind_what_is_queued_on_the_same_provider(
        app: Flask, demo: Any) -> None:
    app.config["RATES"]["sms"] = 10.0
    first = _confirm(app, ["sms"])
    second = _confirm(app, ["sms", "email"])
    with app.app_context(), db.transaction() as s:
        own = estimate.for_notice(s, s.get(Notice, second.id))  # type: ignore[arg-type]
    segments = first.rendered["sv"]["sms"]["sms"]["segments"]
    assert segments == 2  # the outage SMS with two contact channels
    sms = own["sms"]
    assert sms.recipients == 43 and sms.units == 43 * 2  # all demo SMS in segments
    assert sms.ahead == 43 * 2  # the first notice's SMS, not yet sent, go before
    assert sms.seconds == (86 + 86) / 10 and sms.waits == 8.6
    assert own["email"].ahead == 0 and own["email"].live is None


def test_the_readiness_estimate_counts_every_active_address_once(app: Flask, demo: Any) -> None:
    with app.app_context(), db.transaction() as s:
        everyone = estimate.for_audience(s)
    assert {ch: e.recipients for ch, e in everyone.items()} == {
        "sms": 43, "email": 36, "telegram": 15}
    assert everyone["sms"].units == 43 * estimate.DEFAULT_SEGMENTS
