"""Confirming and starting notices: times are aware UTC wherever they are stored or compared."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from rq.registry import ScheduledJobRegistry

from notifier import audit, db, dispatch, enqueueing, queues
from notifier.models import Notice, utcnow


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run the test on a server whose local time is five hours behind UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_scheduled_notice_is_queued_for_its_utc_moment_on_any_server(
        app: Flask, demo: Any, far_from_utc: Any) -> None:
    when = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    req = dispatch.NoticeRequest("planned-maintenance", _maintenance_values(app),
                                 ["sms"], ["staff"], scheduled_at=when)
    with app.app_context():
        with db.transaction() as s:
            notice_id = dispatch.confirm(s, req, audit.actor()).id
        with db.transaction() as s:  # read back as a worker or the console would
            notice = s.get(Notice, notice_id)
            assert notice is not None and notice.scheduled_at == when
            assert notice.scheduled_at.tzinfo is not None
            enqueueing.enqueue(s, notice)
        registry = ScheduledJobRegistry("control", connection=queues.redis())
        [job_id] = registry.get_job_ids()
        scheduled = registry.get_scheduled_time(job_id)
    assert abs((scheduled - when).total_seconds()) < 1


def _maintenance_values(app: Flask) -> dict[str, str | list[str]]:
    from notifier import library

    with app.app_context():
        spec = library.parse_spec(dispatch.approved_version(db.session(), "planned-maintenance")
                                  .content)
    values: dict[str, str | list[str]] = {}
    for v in spec.variables:
        if v.required:
            values[v.name] = {"datetime": "2026-12-06 02:00", "time": "05:00",
                              "contacts": ["vaxel"]}.get(v.type, v.options[0].value
                                                         if v.options else "x")
    return values
